import CQpidProton
import CloudEvents

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One `pn_message_t` per thread, reused by ``AMQPMessageCodec`` (cleared before each use).
///
/// Why: creating and freeing a `pn_message_t` allocates about twenty proton objects and costs
/// ~1.5 µs, as much as encoding a 1 KB message; the codec runs for every message sent and
/// received. Thread safety: proton objects are single-threaded, and each thread only ever
/// sees its own message (thread-specific storage), which the codec never hands out or keeps
/// across calls, and which the codec does not re-enter. The thread's exit frees it.
enum ProtonMessageCache {
    /// Messages that grew beyond this (a large body or many properties) are freed after use
    /// instead of kept, so that one large message does not pin its buffers on every thread.
    static let largeMessageBytes = 256 * 1024

    /// The thread-specific key; `nil` when the process has no key left (then every call
    /// creates and frees its own message).
    private static let key: pthread_key_t? = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            pn_message_free(OpaquePointer(pointer))
        }
        return status == 0 ? key : nil
    }()

    /// Runs `body` with this thread's message, cleared; `size` is the encoded size involved, to
    /// drop a message that grew large.
    static func withMessage<R>(
        size: Int, _ body: (OpaquePointer) throws(TransportError) -> R
    ) throws(TransportError) -> R {
        guard let key else {
            guard let message = pn_message() else {
                throw TransportError(.invalidMessage, "proton could not allocate a message")
            }
            defer { pn_message_free(message) }
            return try body(message)
        }
        let message: OpaquePointer
        if let cached = pthread_getspecific(key) {
            message = OpaquePointer(cached)
            pn_message_clear(message)
        } else {
            guard let created = pn_message() else {
                throw TransportError(.invalidMessage, "proton could not allocate a message")
            }
            message = created
            pthread_setspecific(key, UnsafeRawPointer(created))
        }
        defer {
            if size > largeMessageBytes {
                pthread_setspecific(key, nil)
                pn_message_free(message)
            }
        }
        return try body(message)
    }
}
