import ArgumentParser
import CloudEvents
import CloudEventsMQTT

/// TLS files for `mqtts://` and `https://` endpoints (the system's trust store without
/// `--tls-ca`). For `ce listen https://`, `--tls-cert` and `--tls-key` are the server's
/// identity and `--tls-ca` requires client certificates that authority signed.
struct TLSOptions: ParsableArguments {
    @Option(
        name: .customLong("tls-ca"),
        help:
            "mqtts/https: a PEM file of the certificate authorities to trust (listen https: require client certificates they signed)."
    )
    var caFile: String?

    @Option(name: .customLong("tls-cert"), help: "mqtts/https: a PEM certificate to present (listen https: the server's).")
    var certificateFile: String?

    @Option(name: .customLong("tls-key"), help: "mqtts/https: the PEM private key of --tls-cert.")
    var keyFile: String?

    var settings: TLSSettings {
        TLSSettings(trustedCertificatesFile: caFile, certificateChainFile: certificateFile, privateKeyFile: keyFile)
    }
}

/// `ce` over the MQTT binding.
enum MQTTTransport {
    /// The endpoint's settings. Without `clientid=`, ce uses a fresh client id and a clean
    /// session: two `ce` processes on one host must not take over each other's session.
    /// With `clientid=` the session is persistent unless `cleanstart=true`.
    static func endpoint(_ endpoint: Endpoint, tls: TLSSettings) throws -> MQTTEndpoint {
        var mqtt: MQTTEndpoint
        do { mqtt = try MQTTEndpoint(endpoint, tls: tls) } catch { throw Console.fail("\(error)", ExitStatus.invalidInput) }
        if endpoint.option("clientid") == nil {
            mqtt.configuration.clientID = "ce-\(UInt64.random(in: 0...UInt64.max))"
            mqtt.configuration.cleanStart = true
        }
        return mqtt
    }

    /// Publishes `event` and prints one line once the broker acknowledged it.
    static func send(_ event: CloudEvent, to endpoint: Endpoint, tls: TLSSettings, timeout: Double) async throws {
        var mqtt = try Self.endpoint(endpoint, tls: tls)
        mqtt.configuration.operationTimeout = .seconds(timeout)
        let format = try (FormatName(rawValue: mqtt.formatName) ?? .json).format
        do {
            try await MQTTClient.withClient(configuration: mqtt.configuration) { client in
                let sender = try MQTTEventSender(
                    client: client, topic: mqtt.topic, qos: mqtt.qos, retain: mqtt.retain, mode: mqtt.mode, format: format)
                try await sender.send(event)
            }
        } catch let error as TransportError where error.code == .invalidMessage || error.code == .invalidEndpoint {
            throw Console.fail("sending to \(endpoint) failed: \(error)", ExitStatus.invalidInput)
        } catch {
            throw Console.fail("sending to \(endpoint) failed: \(error)", ExitStatus.transportFailed)
        }
        Console.line("published to '\(mqtt.topic)' (\(mqtt.qos), \(mqtt.mode) mode): acknowledged")
    }

    /// Connects and subscribes to the endpoint's filter.
    static func subscribe(_ endpoint: Endpoint, tls: TLSSettings) async throws -> (MQTTClient, MQTTEventReceiver) {
        let mqtt = try Self.endpoint(endpoint, tls: tls)
        let client: MQTTClient
        do { client = try await MQTTClient.connect(configuration: mqtt.configuration) } catch {
            throw Console.fail("\(error)", ExitStatus.transportFailed)
        }
        do {
            let receiver = try await MQTTEventReceiver.subscribe(
                client: client, filter: mqtt.topic, qos: mqtt.qos, formats: Formats.registry)
            // Once the broker granted the subscription, events published from now on arrive:
            // say so, so that a script can start its senders.
            Console.error("subscribed to '\(mqtt.topic)' at \(endpoint)")
            return (client, receiver)
        } catch {
            await client.shutdown()
            throw Console.fail("\(error)", error.code == .invalidEndpoint ? ExitStatus.invalidInput : ExitStatus.transportFailed)
        }
    }
}
