import CMosquitto
import CloudEventsLoopDriver

#if canImport(Glibc)
    import Glibc
#endif

/// The pipe that wakes the loop's `poll`: the driver writes a byte, the loop drains it.
final class WakePipe: LoopWaker {
    let readFD: Int32
    private let writeFD: Int32

    init?() {
        var fds: [Int32] = [0, 0]
        guard ce_mosquitto_wake_pipe(&fds) == 0 else { return nil }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    func wake() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)  // a full pipe is already a pending wake-up
    }

    /// Empties the pipe (loop thread).
    func drain() {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer in
            while read(readFD, buffer.baseAddress, buffer.count) > 0 {}
        }
    }
}
