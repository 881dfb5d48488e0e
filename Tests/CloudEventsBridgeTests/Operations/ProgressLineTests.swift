import CloudEventsBridge
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("ProgressLine")
struct ProgressLineTests {
    @Test("the first render shows 0 ev/s and the sums over the routes")
    func firstRender() {
        var line = ProgressLine()
        let snapshots = [
            RouteSnapshot(
                route: "a", received: 10_000, delivered: 9_000, retried: 3, deadLettered: 1, dropped: [.shutdown: 2],
                bufferDepth: 7),
            RouteSnapshot(
                route: "b", received: 1_234_567, delivered: 990, deadLettered: 2, dropped: [.unreadable: 1], bufferDepth: 3)
        ]
        #expect(
            line.render(snapshots, now: ContinuousClock.now)
                == "↑ 0 ev/s · received 1,244,567 · delivered 9,990 · retried 3 · buffered 10 · dead-lettered 3 · dropped 3")
    }

    @Test("the rate is the growth of delivered over the time since the previous render")
    func rate() {
        var line = ProgressLine()
        let start = ContinuousClock.now
        _ = line.render([RouteSnapshot(route: "a", delivered: 1_000)], now: start)
        let second = line.render([RouteSnapshot(route: "a", delivered: 3_468)], now: start.advanced(by: .seconds(2)))
        #expect(second.hasPrefix("↑ 1,234 ev/s · "))
        let third = line.render([RouteSnapshot(route: "a", delivered: 3_518)], now: start.advanced(by: .milliseconds(2_500)))
        #expect(third.hasPrefix("↑ 100 ev/s · "))
    }

    @Test("no time elapsed or fewer deliveries than before show 0 ev/s, never a fault or a negative rate")
    func degenerateRates() {
        var line = ProgressLine()
        let start = ContinuousClock.now
        _ = line.render([RouteSnapshot(route: "a", delivered: 10)], now: start)
        #expect(line.render([RouteSnapshot(route: "a", delivered: 20)], now: start).hasPrefix("↑ 0 ev/s"))
        #expect(
            line.render([RouteSnapshot(route: "a", delivered: 5)], now: start.advanced(by: .seconds(1))).hasPrefix("↑ 0 ev/s"))
        #expect(line.render([], now: start.advanced(by: .seconds(2))).hasPrefix("↑ 0 ev/s · received 0 · delivered 0"))
    }

    @Test("a pipe is not a terminal")
    func pipeIsNotATerminal() throws {
        var descriptors: [Int32] = [-1, -1]
        try #require(pipe(&descriptors) == 0)
        defer {
            close(descriptors[0])
            close(descriptors[1])
        }
        #expect(!ProgressLine.isTerminal(fileDescriptor: descriptors[0]))
        #expect(!ProgressLine.isTerminal(fileDescriptor: -1))
    }
}
