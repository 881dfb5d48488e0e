import BenchmarkSample
import CloudEvents
import CloudEventsHTTP
import NIOCore
import NIOPosix

#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

// The CloudEvents side of Scripts/bench-http: an HTTPEventReceiver on 127.0.0.1 (ONE
// event-loop thread, as BareHTTPServer) with a consumer that accepts every delivery as
// fast as it can.
//
// Usage: ReceiverServer [seconds] [--event-loop-consumer]
//                                   (default 120 s; prints "port N", serves until killed or
//                                   until the duration ends; with --event-loop-consumer the
//                                   consumer runs on the receiver's event loop, through
//                                   withTaskExecutorPreference(receiver.eventLoopExecutor),
//                                   instead of on Swift's default executor)
//        ReceiverServer --wrk-lua   (prints a wrk script that POSTs the sample event in
//                                   binary mode, headers as the HTTP mapping writes them)

let arguments = CommandLine.arguments.dropFirst()
if arguments.first == "--wrk-lua" {
    let (request, body) = try SampleEvent.event.httpRequest(authority: nil, path: "/")
    let bodyText = String(decoding: body, as: UTF8.self)
    precondition(!bodyText.contains("]]"), "the body cannot be a Lua long string")
    print("wrk.method = \"POST\"")
    for field in request.headerFields {
        print("wrk.headers[\"\(field.name.rawName)\"] = \"\(field.value)\"")
    }
    print("wrk.body = [[\(bodyText)]]")
} else {
    NIOSingletons.groupLoopCountSuggestion = 1
    // Started here, on the main thread, as BareHTTPServer starts it: a thread inherits its
    // creator's scheduling priority, and the first use after an `await` would create it from
    // one of Swift's concurrency threads (which run at the default priority whatever the
    // process was started with, e.g. under `nice`).
    _ = MultiThreadedEventLoopGroup.singleton.next()
    let duration = arguments.lazy.compactMap { Int64($0) }.first ?? 120
    let onEventLoop = arguments.contains("--event-loop-consumer")
    let receiver = try await HTTPEventReceiver.bind(configuration: HTTPReceiverConfiguration(host: "127.0.0.1", port: 0))
    announcePort(receiver.port)
    @Sendable func consume() async {
        do {
            for try await delivery in receiver.deliveries() { _ = delivery.accept() }
        } catch {
            print("deliveries ended: \(error)")
        }
    }
    await withTaskGroup(of: Void.self) { group in
        group.addTask { try? await receiver.run() }
        if onEventLoop {
            group.addTask(executorPreference: receiver.eventLoopExecutor) { await consume() }
        } else {
            group.addTask { await consume() }
        }
        try? await Task.sleep(for: .seconds(duration))
        group.cancelAll()
    }
}

/// Writes `port N` to standard output unbuffered: Scripts/bench-http waits for it.
func announcePort(_ port: Int) {
    let line = Array("port \(port)\n".utf8)
    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}
