import AsyncHTTPClient
import CloudEvents
import CloudEventsHTTP
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Messages a test consumer received, guarded by a mutex.
final class Received: Sendable {
    private let messages = Mutex<[Message]>([])
    private let decodedEvents = Mutex<[[CloudEvent]?]>([])
    func append(_ message: Message) { messages.withLock { $0.append(message) } }
    var all: [Message] { messages.withLock { $0 } }
    /// What `delivery.events()` decoded with its defaults (the receiver's formats).
    func appendDecoded(_ events: [CloudEvent]?) { decodedEvents.withLock { $0.append(events) } }
    var decoded: [[CloudEvent]?] { decodedEvents.withLock { $0 } }
}

/// A loopback receiver whose consumer settles every delivery with `settle`, and a client.
func withReceiver(
    _ configuration: HTTPReceiverConfiguration = HTTPReceiverConfiguration(),
    settle: @escaping @Sendable (Delivery) -> Void = { $0.accept() },
    _ body: (_ port: Int, _ client: HTTPClient, _ received: Received) async throws -> Void
) async throws {
    var configuration = configuration
    configuration.host = "127.0.0.1"
    configuration.port = 0
    let received = Received()
    let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
    do {
        try await HTTPEventReceiver.withReceiver(configuration: configuration) { receiver in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await delivery in receiver.deliveries() {
                        received.append(delivery.message)
                        received.appendDecoded(try? delivery.events())
                        settle(delivery)
                    }
                }
                defer { group.cancelAll() }
                try await body(receiver.port, client, received)
            }
        }
    } catch {
        try? await client.shutdown()
        throw error
    }
    try await client.shutdown()
}

/// Sends one request over loopback; returns the status, fields and body text.
func post(
    _ client: HTTPClient, port: Int, path: String = "/", method: HTTPMethod = .POST,
    fields: HTTPFields, body: [UInt8]
) async throws -> (status: Int, headers: HTTPHeaders, text: String) {
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
    request.method = method
    for field in fields { request.headers.add(name: field.name.rawName, value: field.value) }
    if !body.isEmpty || method == .POST { request.body = .bytes(ByteBuffer(bytes: body)) }
    let response = try await client.execute(request, timeout: .seconds(60))
    let bytes = try await response.body.collect(upTo: 1 << 20)
    return (Int(response.status.code), response.headers, String(decoding: bytes.readableBytesView, as: UTF8.self))
}

func fields(_ pairs: [(String, String)]) -> HTTPFields {
    var fields = HTTPFields()
    for (name, value) in pairs { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
    return fields
}
