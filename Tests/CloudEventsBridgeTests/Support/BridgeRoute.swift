import Foundation

/// The command line of one `ce bridge` instance in a fault test: an MQTT source on loopback
/// with a persistent session, an HTTP sink, a buffer directory, and whatever else the test
/// adds. Every flag name of `ce bridge` the tests use is written here, once.
struct BridgeRoute: Sendable {
    /// The broker's port on 127.0.0.1.
    var brokerPort: Int
    /// The topic filter (`<topic>/#`, or `$share/<group>/<topic>/#`).
    var filter: String
    /// The MQTT client id: stable across restarts, so the broker keeps the session.
    var clientID: String
    /// `5` or `3.1.1`.
    var mqttVersion = "5"
    /// Where events go.
    var sinkURL: String
    /// Where undeliverable events go, if anywhere.
    var deadLetterURL: String?
    /// The durable buffer's directory.
    var bufferDirectory: String
    /// `binary`, `structured` or `same`.
    var format = "binary"
    /// More flags (`--max-buffer-bytes`, `--max-in-flight`, …).
    var extraArguments: [String] = []

    /// The source endpoint: QoS 1, the given client id, clean start off (the endpoint's default).
    var sourceURL: String {
        let path = filter.replacingOccurrences(of: "#", with: "%23")
        return "mqtt://127.0.0.1:\(brokerPort)/\(path)?version=\(mqttVersion)&qos=1&clientid=\(clientID)"
    }

    /// The arguments after `ce bridge`.
    var arguments: [String] {
        var arguments = [
            "--from", sourceURL, "--to", sinkURL, "--buffer-dir", bufferDirectory, "--format", format, "--progress", "never"
        ]
        if let deadLetterURL { arguments += ["--dead-letter", deadLetterURL] }
        return arguments + extraArguments
    }
}
