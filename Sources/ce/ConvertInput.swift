#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file descriptor (stdin) read in large blocks into one window that keeps only the bytes
/// not consumed yet, so memory follows the largest element being decoded, not the input.
///
/// Reading may move the unconsumed bytes to the front of the window (or into a larger one):
/// callers keep stream offsets (``offset(of:)``, ``index(of:)``) across ``readMore()``, never
/// window indexes or pointers.
final class ConvertInput {
    /// How much each `read(2)` asks for, at least.
    static let blockSize = 256 * 1024

    private let descriptor: Int32
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    /// The window index of the first byte not consumed yet.
    var start = 0
    /// The window index one past the last byte read.
    private(set) var end = 0
    /// The stream offset of window index 0.
    private(set) var base = 0
    /// Whether `read(2)` has reported the end of the input.
    private(set) var isAtEnd = false

    /// - Parameter descriptor: the file descriptor to read (stdin by default).
    init(descriptor: Int32 = 0) {
        self.descriptor = descriptor
        capacity = 2 * Self.blockSize
        storage = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// The window's bytes, `0..<end` (valid until the next ``readMore()``).
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: end) }

    /// The stream offset of window index `index`.
    func offset(of index: Int) -> Int { base + index }

    /// The window index of stream offset `offset` (which must not be consumed yet).
    func index(of offset: Int) -> Int { offset - base }

    /// The largest window this input has needed, in bytes (for tests of the memory bound).
    var windowCapacity: Int { capacity }

    /// Reads the next block. Returns `false`, reading nothing, at the end of the input.
    ///
    /// - Throws: ``ConvertFailure`` when `read(2)` fails.
    func readMore() throws(ConvertFailure) -> Bool {
        if isAtEnd { return false }
        if capacity - end < Self.blockSize {
            // Move the unconsumed bytes to the front; grow only when they fill the window.
            let kept = end - start
            if start > 0 {
                (storage + 0).copyMemory(from: storage + start, byteCount: kept)
                base += start
                start = 0
                end = kept
            }
            if capacity - end < Self.blockSize {
                let grown = max(capacity * 2, end + Self.blockSize)
                let larger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 16)
                larger.copyMemory(from: storage, byteCount: end)
                storage.deallocate()
                storage = larger
                capacity = grown
            }
        }
        while true {
            let count = read(descriptor, storage + end, capacity - end)
            if count > 0 {
                end += count
                return true
            }
            if count == 0 {
                isAtEnd = true
                return false
            }
            if errno == EINTR { continue }
            throw ConvertFailure("cannot read the input: \(String(cString: strerror(errno)))")
        }
    }

    /// Reads everything that is left (for inputs decoded in one piece).
    func readToEnd() throws(ConvertFailure) {
        while try readMore() {}
    }
}

/// Why `ce convert` stopped, as the one line it prints on stderr.
struct ConvertFailure: Error, CustomStringConvertible {
    var description: String
    /// Whether the message should say how many events were written before the failure.
    var mentionsWritten: Bool

    init(_ description: String, mentionsWritten: Bool = false) {
        self.description = description
        self.mentionsWritten = mentionsWritten
    }
}
