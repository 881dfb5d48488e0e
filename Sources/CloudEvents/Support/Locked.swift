#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value guarded by a pthread mutex.
///
/// The toolkit's shared state that C threads touch (deliveries, their streams, the MQTT
/// client's bookkeeping) uses this rather than `Synchronization.Mutex`: on Linux, `Mutex` is
/// a futex that the thread sanitizer cannot observe, so it reports every access the mutex
/// guards as a data race, which would hide real ones. The sanitizer does see
/// `pthread_mutex_lock`.
package final class Locked<Value> {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, holding the lock. `body` must not call back into code
    /// that takes the same lock: it is not recursive.
    package func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

// `value` is only read or written between `pthread_mutex_lock(mutex)` and
// `pthread_mutex_unlock(mutex)` in `withLock`, so sharing the box is safe when the value is.
extension Locked: @unchecked Sendable where Value: Sendable {}
