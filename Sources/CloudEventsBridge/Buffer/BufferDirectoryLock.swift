import CloudEvents

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive `flock` on `<directory>/<route>.lock`, held while a bridge has the route's
/// buffer open, so that a second bridge started on the same directory fails at once instead
/// of interleaving its writes with the first one's (SQLite would allow two writers in turn,
/// and both would deliver the same events).
///
/// `flock` belongs to the open file, so the kernel releases it when the process dies, even by
/// SIGKILL: a stale lock file never blocks a restart. The file keeps the holder's process id
/// for the refusal message; it is never deleted, because deleting a lock file another process
/// is about to lock would let two processes hold locks on two different files.
final class BufferDirectoryLock: Sendable {
    /// The lock file.
    let path: String
    /// The descriptor holding the lock, -1 once released.
    private let descriptor: Locked<Int32>

    /// Takes the lock.
    ///
    /// - Parameters:
    ///   - path: the lock file, created when missing.
    ///   - databasePath: the buffer file it guards, for the error message.
    /// - Throws: ``BufferError`` when another open file holds it (another bridge, or this
    ///   one opening the route twice), naming the file and the holder's process id.
    init(path: String, guarding databasePath: String) throws(BufferError) {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BufferError("cannot open the lock file \(path): \(Self.systemError())") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            let holder = Self.readHolder(fd)
            close(fd)
            if failure == EWOULDBLOCK {
                let pid = holder.map { "pid \($0)" } ?? "pid unknown"
                throw BufferError("the buffer \(databasePath) is in use by another bridge (\(pid))? (lock file \(path))")
            }
            throw BufferError("cannot lock \(path): \(String(cString: strerror(failure)))")
        }
        let text = Array("\(getpid())\n".utf8)
        // The pid is only for the message a refused bridge prints: failing to write it is
        // not a reason to refuse to start.
        if ftruncate(fd, 0) == 0 { _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
        descriptor = Locked(fd)
    }

    deinit { release() }

    /// Releases the lock (closes the descriptor); later calls do nothing.
    func release() {
        let fd = descriptor.withLock { fd in
            defer { fd = -1 }
            return fd
        }
        if fd >= 0 { close(fd) }
    }

    /// Creates `path` and its missing parents, like `mkdir -p`.
    ///
    /// - Throws: ``BufferError`` naming the directory that could not be created.
    static func makeDirectory(_ path: String) throws(BufferError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw BufferError("cannot create the buffer directory \(prefix): \(systemError())")
            }
            prefix += "/"
        }
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw BufferError("the buffer directory \(path) is not a directory")
        }
    }

    private static func readHolder(_ fd: Int32) -> Int? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: bytes[..<count], as: UTF8.self)
        return Int(text.prefix { $0 != "\n" })
    }

    private static func systemError() -> String { String(cString: strerror(errno)) }
}
