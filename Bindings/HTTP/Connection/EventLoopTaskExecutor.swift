internal import NIOCore

/// Runs tasks on one SwiftNIO event loop: a consumer that prefers it (with
/// `withTaskExecutorPreference`) takes its deliveries, and settles them, on the thread that
/// read the requests, so a request costs no hop between threads.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
