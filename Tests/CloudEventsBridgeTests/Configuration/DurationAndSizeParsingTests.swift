import CloudEventsBridge
import Testing

/// The duration and size syntax of the configuration file and `ce bridge`'s flags.
@Suite("Duration and size parsing")
struct DurationAndSizeParsingTests {
    @Test(arguments: [
        ("250ms", Duration.milliseconds(250)),
        ("10s", .seconds(10)),
        ("5m", .seconds(300)),
        ("1h", .seconds(3600)),
        ("1m30s", .seconds(90)),
        ("1.5s", .milliseconds(1500)),
        ("0.1s", .milliseconds(100)),
        (".5s", .milliseconds(500)),
        ("0s", .zero),
        ("1h0m0.001s", .milliseconds(3_600_001))
    ])
    func durations(text: String, expected: Duration) {
        #expect(DurationParsing.duration(text) == expected)
    }

    @Test(arguments: ["", "10", "10 s", "-1s", "1d", "s", "1.s", "10sec", "1,5s", "+1s", "1m30", "9999999999999h"])
    func notDurations(text: String) {
        #expect(DurationParsing.duration(text) == nil)
    }

    @Test(arguments: [
        (Duration.milliseconds(200), "200 ms"), (.seconds(10), "10 s"), (.milliseconds(1500), "1.5 s"), (.seconds(90), "90 s"),
        (.seconds(300), "5 min"), (.seconds(7200), "2 h")
    ])
    func durationText(duration: Duration, expected: String) {
        #expect(DurationParsing.text(duration) == expected)
    }

    @Test(arguments: [
        ("4096", 4096), ("512B", 512), ("64KiB", 64 << 10), ("256MiB", 256 << 20), ("1GiB", 1 << 30), ("2TiB", 2 << 40)
    ])
    func sizes(text: String, expected: Int) {
        #expect(ByteSizeParsing.bytes(text) == expected)
    }

    @Test(arguments: ["", "256MB", "1.5GiB", "-1", "1 MiB", "MiB", "256mib", "99999999999999999999", "9999999999TiB"])
    func notSizes(text: String) {
        #expect(ByteSizeParsing.bytes(text) == nil)
    }

    @Test(arguments: [(256 << 20, "256 MiB"), (1536 << 20, "1.5 GiB"), (100, "100 bytes"), (64 << 10, "64 KiB")])
    func sizeText(bytes: Int, expected: String) {
        #expect(ByteSizeParsing.text(bytes) == expected)
    }
}
