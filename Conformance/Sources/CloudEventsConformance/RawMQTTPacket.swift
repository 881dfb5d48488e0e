/// The MQTT protocol version a raw subscriber speaks.
public enum RawMQTTVersion: String, Sendable, Hashable, Codable {
    /// MQTT 3.1.1 (protocol level 4): no properties.
    case v311 = "3.1.1"
    /// MQTT 5 (protocol level 5): properties on every packet.
    case v5 = "5"

    /// The protocol level byte of CONNECT.
    var level: UInt8 { self == .v5 ? 5 : 4 }
}

/// One MQTT 5 property of a PUBLISH packet, as it was on the wire.
public enum RawMQTTProperty: Sendable, Hashable {
    /// Payload Format Indicator (0x01): 0 bytes, 1 UTF-8.
    case payloadFormatIndicator(UInt8)
    /// Content Type (0x03).
    case contentType(String)
    /// User Property (0x26): a name and a value, in order.
    case userProperty(name: String, value: String)
    /// Any other property, by identifier (its value skipped by its type).
    case other(identifier: UInt8)
}

/// A PUBLISH packet as it came off the socket, parsed without the MQTT binding.
public struct RawMQTTPublish: Sendable, Hashable {
    /// The topic name.
    public var topic: String
    /// The QoS (0, 1 or 2).
    public var qos: Int
    /// The RETAIN flag.
    public var retain: Bool
    /// The packet identifier (QoS 1 and 2).
    public var packetID: UInt16?
    /// The properties in order (none in MQTT 3.1.1).
    public var properties: [RawMQTTProperty]
    /// The payload.
    public var payload: [UInt8]
    /// The version of the connection it arrived on.
    public var version: RawMQTTVersion

    /// A PUBLISH with these parts.
    ///
    /// - Parameters:
    ///   - topic: the topic name.
    ///   - qos: the QoS.
    ///   - retain: the RETAIN flag.
    ///   - packetID: the packet identifier, for QoS 1 and 2.
    ///   - properties: the MQTT 5 properties.
    ///   - payload: the payload.
    ///   - version: the connection's version.
    public init(
        topic: String, qos: Int = 1, retain: Bool = false, packetID: UInt16? = nil, properties: [RawMQTTProperty] = [],
        payload: [UInt8], version: RawMQTTVersion = .v5
    ) {
        self.topic = topic
        self.qos = qos
        self.retain = retain
        self.packetID = packetID
        self.properties = properties
        self.payload = payload
        self.version = version
    }

    /// The Content Type properties' values (one on a well-formed packet).
    public var contentTypes: [String] {
        properties.compactMap { if case .contentType(let value) = $0 { value } else { nil } }
    }

    /// The User Properties in order.
    public var userProperties: [(name: String, value: String)] {
        properties.compactMap { if case .userProperty(let name, let value) = $0 { (name, value) } else { nil } }
    }
}

/// Frames and parses MQTT packets from bytes, independently of the MQTT binding.
public enum RawMQTTPacket {
    /// One framed packet: the type (high nibble), the flags (low nibble), and the rest.
    public struct Frame: Sendable, Hashable {
        /// The packet type, 1...15 (3 is PUBLISH).
        public var type: UInt8
        /// The fixed header's flags.
        public var flags: UInt8
        /// The bytes after the remaining length.
        public var body: [UInt8]
    }

    private static func error(_ reason: String) -> WireProbeError {
        WireProbeError(operation: "parse an MQTT packet", reason: reason)
    }

    /// Takes one whole packet off the front of `buffer`; `nil` when it is not all there yet.
    ///
    /// - Throws: ``WireProbeError`` when the remaining length is malformed.
    public static func frame(_ buffer: inout [UInt8]) throws(WireProbeError) -> Frame? {
        guard let first = buffer.first else { return nil }
        var index = 1
        guard let length = try variableInteger(buffer, at: &index, partialAllowed: true) else { return nil }
        guard buffer.count >= index + length else { return nil }
        let frame = Frame(type: first >> 4, flags: first & 0x0F, body: Array(buffer[index..<(index + length)]))
        buffer.removeFirst(index + length)
        return frame
    }

    /// Reads a variable byte integer at `index`, moving it past; `nil` when the bytes end
    /// before it does and `partialAllowed`.
    static func variableInteger(_ bytes: [UInt8], at index: inout Int, partialAllowed: Bool = false)
        throws(WireProbeError) -> Int?
    {
        var value = 0
        for shift in 0..<4 {
            guard index < bytes.count else {
                if partialAllowed { return nil }
                throw error("variable byte integer cut short")
            }
            let byte = bytes[index]
            index += 1
            value |= Int(byte & 0x7F) << (7 * shift)
            if byte & 0x80 == 0 { return value }
        }
        throw error("variable byte integer longer than 4 bytes")
    }

    private static func take(_ bytes: [UInt8], _ index: inout Int, _ count: Int, _ what: String) throws(WireProbeError)
        -> ArraySlice<UInt8>
    {
        guard count >= 0, index + count <= bytes.count else { throw error("\(what) runs past the packet") }
        defer { index += count }
        return bytes[index..<(index + count)]
    }

    private static func twoBytes(_ bytes: [UInt8], _ index: inout Int, _ what: String) throws(WireProbeError) -> Int {
        let pair = try take(bytes, &index, 2, what)
        return Int(pair[pair.startIndex]) << 8 | Int(pair[pair.startIndex + 1])
    }

    private static func string(_ bytes: [UInt8], _ index: inout Int, _ what: String) throws(WireProbeError) -> String {
        let count = try twoBytes(bytes, &index, what)
        let raw = try take(bytes, &index, count, what)
        guard let text = String(validating: raw, as: UTF8.self) else { throw error("\(what) is not UTF-8") }
        return text
    }

    /// Parses a PUBLISH packet's body.
    ///
    /// - Parameters:
    ///   - frame: a frame of type 3.
    ///   - version: the connection's version (MQTT 5 has properties).
    /// - Throws: ``WireProbeError`` naming the part that is malformed.
    public static func publish(_ frame: Frame, version: RawMQTTVersion) throws(WireProbeError) -> RawMQTTPublish {
        guard frame.type == 3 else { throw error("packet type \(frame.type) is not PUBLISH") }
        let qos = Int((frame.flags >> 1) & 0x03)
        guard qos < 3 else { throw error("QoS 3") }
        let body = frame.body
        var index = 0
        let topic = try string(body, &index, "topic name")
        var packetID: UInt16?
        if qos > 0 { packetID = UInt16(try twoBytes(body, &index, "packet identifier")) }
        var properties: [RawMQTTProperty] = []
        if version == .v5 { properties = try self.properties(body, at: &index) }
        return RawMQTTPublish(
            topic: topic, qos: qos, retain: frame.flags & 0x01 != 0, packetID: packetID, properties: properties,
            payload: Array(body[index...]), version: version)
    }

    /// Parses an MQTT 5 property list (its length, then the properties) at `index`. Each
    /// property not kept is skipped by its type; an unknown identifier is an error, since
    /// its length cannot be known.
    static func properties(_ bytes: [UInt8], at index: inout Int) throws(WireProbeError) -> [RawMQTTProperty] {
        guard let length = try variableInteger(bytes, at: &index) else { throw error("property length missing") }
        let end = index + length
        guard end <= bytes.count else { throw error("properties run past the packet") }
        let list = Array(bytes[..<end])
        var result: [RawMQTTProperty] = []
        while index < end {
            guard let identifier = try variableInteger(list, at: &index) else { throw error("property identifier cut") }
            let what = "property 0x\(String(identifier, radix: 16))"
            switch identifier {
            case 0x01:
                result.append(.payloadFormatIndicator(try take(list, &index, 1, what).first!))
            case 0x03:
                result.append(.contentType(try string(list, &index, what)))
            case 0x26:
                let name = try string(list, &index, what)
                result.append(.userProperty(name: name, value: try string(list, &index, what)))
            case 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A:
                _ = try take(list, &index, 1, what)
                result.append(.other(identifier: UInt8(identifier)))
            case 0x13, 0x21, 0x22, 0x23:
                _ = try take(list, &index, 2, what)
                result.append(.other(identifier: UInt8(identifier)))
            case 0x02, 0x11, 0x18, 0x27:
                _ = try take(list, &index, 4, what)
                result.append(.other(identifier: UInt8(identifier)))
            case 0x0B:
                _ = try variableInteger(list, at: &index)
                result.append(.other(identifier: UInt8(identifier)))
            case 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F:
                _ = try string(list, &index, what)
                result.append(.other(identifier: UInt8(identifier)))
            case 0x09, 0x16:
                let count = try twoBytes(list, &index, what)
                _ = try take(list, &index, count, what)
                result.append(.other(identifier: UInt8(identifier)))
            default:
                throw error("unknown property identifier 0x\(String(identifier, radix: 16))")
            }
        }
        return result
    }

    // MARK: Writing the client's packets

    static func encodeVariableInteger(_ value: Int) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value > 0 { byte |= 0x80 }
            bytes.append(byte)
        } while value > 0
        return bytes
    }

    static func encodeString(_ text: String) -> [UInt8] {
        let utf8 = Array(text.utf8)
        return [UInt8(utf8.count >> 8), UInt8(utf8.count & 0xFF)] + utf8
    }

    static func packet(_ first: UInt8, _ body: [UInt8]) -> [UInt8] {
        [first] + encodeVariableInteger(body.count) + body
    }

    /// CONNECT with a clean start, a 60 s keep-alive and no credentials.
    static func connect(clientID: String, version: RawMQTTVersion) -> [UInt8] {
        var body = encodeString("MQTT") + [version.level, 0x02, 0x00, 0x3C]
        if version == .v5 { body.append(0) }
        body += encodeString(clientID)
        return packet(0x10, body)
    }

    /// SUBSCRIBE to `filter` at QoS 1, packet identifier 1.
    static func subscribe(filter: String, version: RawMQTTVersion) -> [UInt8] {
        var body: [UInt8] = [0x00, 0x01]
        if version == .v5 { body.append(0) }
        body += encodeString(filter) + [0x01]
        return packet(0x82, body)
    }

    /// PUBACK for `packetID` (success; MQTT 5 lets the reason code be omitted).
    static func puback(_ packetID: UInt16) -> [UInt8] {
        packet(0x40, [UInt8(packetID >> 8), UInt8(packetID & 0xFF)])
    }

    /// DISCONNECT (normal).
    static let disconnect: [UInt8] = [0xE0, 0x00]
}
