import CloudEvents
import CloudEventsTransports
import Testing

/// The in-process channel through the registry: a send returns once the consumer settled.
@Suite("In-process binding")
struct InProcessBindingTests {
    static let event = CloudEvent(id: "1", source: "/s", type: "t", data: .text("hi"))

    /// Each test uses its own channel name: a channel's deliveries end with their first
    /// consumer's iteration.
    static func endpoint(_ query: String = "") throws -> Endpoint {
        try Endpoint("memory://registry-\(UInt64.random(in: 0...UInt64.max))\(query)")
    }

    static func registry() throws -> BindingRegistry { try BindingRegistry([InProcessBinding()]) }

    @Test func describesItself() {
        let binding = InProcessBinding()
        #expect(binding.schemes == ["memory"])
        #expect(binding.acknowledgement == .consumerSettlement)
        #expect(binding.isInProcess)
        #expect(binding.endpointOptions.map(\.name) == ["mode", "format"])
    }

    @Test(arguments: ["", "?mode=structured", "?mode=batch"])
    func sendsReceivesAndSettlesThroughTheRegistry(query: String) async throws {
        let registry = try Self.registry()
        let endpoint = try Self.endpoint(query)
        let (received, outcome) = try await registry.withReceiver(for: endpoint, options: BindingOptions()) { receiver in
            #expect(receiver.endpoint == endpoint)
            #expect(receiver.readyMessage == nil)
            return try await withThrowingTaskGroup(of: (CloudEvent?, SendOutcome?).self) { group in
                group.addTask {
                    for try await delivery in receiver.deliveries() {
                        let event = try delivery.events().first
                        delivery.accept()
                        return (event, nil)
                    }
                    return (nil, nil)
                }
                group.addTask {
                    let outcome = try await registry.withSender(for: endpoint, options: BindingOptions()) { sender in
                        try await sender.send(Self.event)
                    }
                    return (nil, outcome)
                }
                var received: CloudEvent?
                var outcome: SendOutcome?
                for try await (event, sent) in group {
                    received = received ?? event
                    outcome = outcome ?? sent
                }
                return (received, outcome)
            }
        }
        #expect(received?.id == "1")
        let summary = try #require(outcome?.summary)
        let mode = query.isEmpty ? "binary" : String(query.dropFirst("?mode=".count))
        #expect(summary.hasPrefix("delivered over \(endpoint) in \(mode) mode\n"), "\(summary)")
        #expect(outcome?.reply == nil)
    }

    @Test func aRejectionReachesTheSender() async throws {
        let registry = try Self.registry()
        let endpoint = try Self.endpoint()
        let error = try await registry.withReceiver(for: endpoint, options: BindingOptions()) { receiver in
            try await withThrowingTaskGroup(of: TransportError?.self) { group in
                group.addTask {
                    for try await delivery in receiver.deliveries() {
                        delivery.reject(reason: "not today")
                        break
                    }
                    return nil
                }
                group.addTask {
                    do {
                        _ = try await registry.withSender(for: endpoint, options: BindingOptions()) {
                            try await $0.send(Self.event)
                        }
                        return nil
                    } catch let error as TransportError {
                        return error
                    }
                }
                var error: TransportError?
                for try await result in group { error = error ?? result }
                return error
            }
        }
        #expect(error?.code == .rejected)
        #expect(error?.message.contains("not today") == true)
    }

    @Test func aFormatTheOptionsLackIsInvalid() async throws {
        let registry = try Self.registry()
        var endpoint = try Endpoint("memory://no-named")
        endpoint.options.append(("format", "named"))
        let error = try await #require(throws: TransportError.self) {
            try await registry.withSender(for: endpoint, options: BindingOptions()) { _ in }
        }
        #expect(error.code == .invalidEndpoint)
    }
}
