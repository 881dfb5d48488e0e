/// The parts of an AMQP 1.0 message that the CloudEvents binding reads and writes: the
/// header's `durable` and `delivery-count`, a few `properties` fields, the
/// `application-properties` map and the application-data section.
///
/// ``AMQPMessageCodec`` turns it into the wire bytes and back through proton.
public struct AMQPMessage: Sendable, Hashable {
    /// `properties.content-type` (a symbol on the wire). In binary mode it is
    /// `datacontenttype`; in structured mode the event format's media type.
    public var contentType: String?
    /// The `application-properties` map, in wire order. Keys should be unique; a decoded
    /// message keeps what arrived so that the mapping can name a repeated key.
    public var applicationProperties: [AMQPApplicationProperty]
    /// The application-data section.
    public var body: AMQPBody
    /// `header.durable`: whether the broker should keep the message across a restart.
    public var durable: Bool
    /// `header.delivery-count`: how many earlier deliveries of this message failed (read side).
    public var deliveryCount: UInt32
    /// `properties.message-id`, when it is a string (other id types are not carried).
    public var messageID: String?
    /// `properties.subject`.
    public var subject: String?
    /// `properties.to`: the address the message was sent to.
    public var to: String?

    /// A message.
    ///
    /// - Parameters:
    ///   - contentType: `properties.content-type`.
    ///   - applicationProperties: the `application-properties` entries, in order.
    ///   - body: the application-data section (none by default).
    ///   - durable: `header.durable` (true by default: a sent event should survive a broker restart).
    ///   - deliveryCount: `header.delivery-count`.
    ///   - messageID: `properties.message-id` as a string.
    ///   - subject: `properties.subject`.
    ///   - to: `properties.to`.
    public init(
        contentType: String? = nil, applicationProperties: [AMQPApplicationProperty] = [], body: AMQPBody = .none,
        durable: Bool = true, deliveryCount: UInt32 = 0, messageID: String? = nil, subject: String? = nil,
        to: String? = nil
    ) {
        self.contentType = contentType
        self.applicationProperties = applicationProperties
        self.body = body
        self.durable = durable
        self.deliveryCount = deliveryCount
        self.messageID = messageID
        self.subject = subject
        self.to = to
    }

    /// The value of the first application property named `name`, if any.
    ///
    /// - Parameter name: the key (case-sensitive).
    public subscript(property name: String) -> AMQPValue? {
        applicationProperties.first { $0.name == name }?.value
    }
}
