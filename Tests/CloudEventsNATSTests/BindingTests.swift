import CloudEvents
import CloudEventsNATS
import CloudEventsProtobuf
import CloudEventsTransports
import Testing

/// `NATSBinding` as the registry sees it: its name, schemes, guarantee and options, and the
/// endpoints it refuses before connecting.
@Suite("NATSBinding")
struct BindingTests {
    static let options = BindingOptions(
        formats: EventFormatRegistry([JSONEventFormat(), ProtobufEventFormat()]), timeout: .seconds(5))

    @Test func nameSchemesGuaranteeAndOptions() throws {
        let binding = NATSBinding()
        #expect(binding.name == "NATS")
        #expect(binding.schemes == ["nats", "natss"])
        #expect(binding.acknowledgement == .none)
        #expect(binding.acknowledgementDetail.hasPrefix("none (core NATS"), "\(binding.acknowledgementDetail)")
        #expect(binding.acknowledgementDetail.contains("acceptedWithReply"))
        #expect(binding.endpointOptions.map(\.name) == ["mode", "format", "queue", "servers"])
        #expect(binding.endpointOptions.allSatisfy { !$0.help.isEmpty && !$0.help.contains("\n") })
        #expect(binding.contentModes(for: try Endpoint("nats://h/s")) == [.binary, .structured])
        #expect(binding.formatNames(for: try Endpoint("nats://h/s")) == nil)
        #expect(!binding.isInProcess)
        #expect(!binding.allowsOtherOptions)
        let registry = try BindingRegistry([InProcessBinding(), NATSBinding()])
        #expect(registry.schemes == ["memory", "nats", "natss"])
        #expect(try registry.binding(for: Endpoint("natss://h/s")).name == "NATS")
    }

    @Test func theEndpointGetsTheOptionsTimeoutLoggerAndTLS() throws {
        let tls = TLSSettings(trustedCertificatesFile: "/tmp/ca.pem")
        let options = BindingOptions(tls: tls, timeout: .seconds(7))
        let secure = try NATSBinding().natsEndpoint(Endpoint("natss://h/s"), options: options)
        #expect(secure.configuration.tls == tls)
        #expect(secure.configuration.operationTimeout == .seconds(7))
        #expect(try NATSBinding().natsEndpoint(Endpoint("nats://h/s"), options: options).configuration.tls == nil)
    }

    /// What a sender or receiver refuses, before connecting (nothing listens at these ports).
    @Test(arguments: [
        ("nats://127.0.0.1:4222/a.*", "wildcard"),
        ("nats://127.0.0.1:4222/a.>", "wildcard"),
        ("nats://127.0.0.1:4222/s?queue=g", "queue= is for receivers"),
        ("nats://127.0.0.1:4222/s?mode=batch", "no batch mode"),
        ("nats://127.0.0.1:4222/s?format=protobuf", "format 'protobuf' is not available"),
        ("nats://127.0.0.1:4222", "missing subject")
    ])
    func aSenderRefuses(url: String, naming part: String) async throws {
        let formats = EventFormatRegistry([JSONEventFormat(), ProtobufEventFormat()])
        let endpoint = try Endpoint(url, formats: formats)
        do {
            _ = try await NATSBinding().withSender(for: endpoint, options: BindingOptions()) { _ in
                Issue.record("\(url) opened a sender")
            }
        } catch let error as TransportError {
            #expect(error.code == .invalidEndpoint, "\(error)")
            #expect(error.message.contains(part), "\(error)")
        }
    }

    @Test func port0IsRefusedForBoth() async throws {
        let endpoint = try Endpoint("nats://127.0.0.1:0/s", allowingPortZero: true)
        await #expect(throws: TransportError.self) {
            try await NATSBinding().withReceiver(for: endpoint, options: Self.options) { _ in }
        }
        await #expect(throws: TransportError.self) {
            try await NATSBinding().withSender(for: endpoint, options: Self.options) { _ in }
        }
    }
}

/// `NATSBinding` through nats-server: the registry's sender and receiver, the ready message,
/// the send summary, queue groups and authentication.
@Suite("NATSBinding through nats-server", NATSBroker.gate)
struct BindingBrokerTests {
    static let options = BindingOptions(
        formats: EventFormatRegistry([JSONEventFormat(), ProtobufEventFormat()]), timeout: .seconds(30))

    @Test(arguments: ["mode=binary", "mode=structured&format=json", "mode=structured&format=protobuf"])
    func aSendReachesAReceiver(options query: String) async throws {
        let subject = NATSBroker.uniqueSubject()
        let registry = try BindingRegistry([NATSBinding()])
        let formats = Self.options.formats
        try await within {
            try await registry.withReceiver(for: Endpoint(NATSBroker.url(subject), formats: formats), options: Self.options) {
                receiver in
                #expect(
                    receiver.readyMessage?.hasPrefix("subscribed to '\(subject)' at nats://") == true,
                    "\(receiver.readyMessage ?? "")")
                #expect(receiver.readyMessage?.contains("nats-server 2.") == true, "\(receiver.readyMessage ?? "")")
                let endpoint = try Endpoint(NATSBroker.url(subject, query), formats: formats)
                let outcome = try await registry.withSender(for: endpoint, options: Self.options) { sender in
                    try await sender.send(NATSBroker.event("via-registry"))
                }
                #expect(outcome.summary.hasPrefix("published to '\(subject)' ("), "\(outcome.summary)")
                #expect(outcome.summary.hasSuffix("no acknowledgement (core NATS)"), "\(outcome.summary)")
                #expect(outcome.reply == nil)
                var iterator = receiver.deliveries().makeAsyncIterator()
                let delivery = try #require(try await iterator.next())
                #expect(try delivery.event() == NATSBroker.event("via-registry"))
                delivery.accept()
            }
        }
    }

    /// Two `queue=` receivers through the registry share one stream of messages.
    @Test func queueGroupsShareTheMessages() async throws {
        let subject = NATSBroker.uniqueSubject()
        let registry = try BindingRegistry([NATSBinding()])
        let url = NATSBroker.url(subject, "queue=bridges")
        try await within {
            try await registry.withReceiver(for: Endpoint(url), options: Self.options) { first in
                #expect(first.readyMessage?.contains("in queue group 'bridges'") == true, "\(first.readyMessage ?? "")")
                try await registry.withReceiver(for: Endpoint(url), options: Self.options) { second in
                    _ = try await registry.withSender(for: Endpoint(NATSBroker.url(subject)), options: Self.options) {
                        sender in
                        for index in 0..<20 { _ = try await sender.send(NATSBroker.event("g\(index)")) }
                    }
                    var ids: [String] = []
                    for stream in [first.deliveries(), second.deliveries()] {
                        while let delivery = try await nextDelivery(of: stream, within: 2) {
                            ids.append(try delivery.event().id)
                            delivery.accept()
                        }
                    }
                    #expect(ids.sorted() == (0..<20).map { "g\($0)" }.sorted())
                }
            }
        }
    }

    @Test func userAndPasswordFromTheURL() async throws {
        let subject = NATSBroker.uniqueSubject()
        let registry = try BindingRegistry([NATSBinding()])
        let user = NATSBroker.username
        let good = try Endpoint(
            "nats://\(user):\(NATSBroker.password)@\(NATSBroker.host):\(NATSBroker.authPort)/\(subject)")
        try await within {
            _ = try await registry.withSender(for: good, options: Self.options) { sender in
                try await sender.send(NATSBroker.event("authenticated"))
            }
            let bad = try Endpoint("nats://\(user):wrong@\(NATSBroker.host):\(NATSBroker.authPort)/\(subject)")
            do {
                _ = try await registry.withSender(for: bad, options: Self.options) { _ in }
                Issue.record("a wrong password connected")
            } catch let error as TransportError {
                #expect(error.code == .notAuthorized, "\(error)")
                #expect(!"\(error)".contains("wrong"), "the password is printed: \(error)")
            }
        }
    }
}
