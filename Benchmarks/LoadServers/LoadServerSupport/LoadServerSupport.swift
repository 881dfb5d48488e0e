// What the load servers of Scripts/bench-* share: unbuffered output, failing with the
// program's name, and CPU clocks (steadier than the wall clock on a busy machine).

#if canImport(Glibc)
    import Glibc
#endif

/// Writes `text` to standard output (or `descriptor`) at once, unbuffered: the scripts
/// read the lines as they come, and a process that ends on a timeout loses nothing.
public func emit(_ text: String, to descriptor: Int32 = 1) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}

/// Writes `message` to standard error after the program's name, and exits with status 1.
public func fail(_ message: String) -> Never {
    let program = CommandLine.arguments.first?.split(separator: "/").last.map(String.init) ?? "load server"
    emit("\(program): \(message)\n", to: 2)
    exit(1)
}

/// This process's CPU time (user + system, every thread) in microseconds.
public func processCPUMicroseconds() -> Int64 {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Int64(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000 + Int64(usage.ru_utime.tv_usec)
        + Int64(usage.ru_stime.tv_usec)
}

/// This thread's CPU time (user + system) in seconds.
public func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
