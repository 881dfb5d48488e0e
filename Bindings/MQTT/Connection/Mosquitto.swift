import CMosquitto
import CloudEvents

#if canImport(Glibc)
    import Glibc
#endif

/// libmosquitto's process-wide state and its return codes, in one place.
enum Mosquitto {
    /// `mosquitto_lib_init`, once per process (it is not thread-safe to call twice at once).
    static let initialized: Bool = mosquitto_lib_init() == success

    /// The version of the libmosquitto the process runs with (not the headers built against).
    static let version: MQTTClient.LibraryVersion = {
        var major: Int32 = 0
        var minor: Int32 = 0
        var revision: Int32 = 0
        _ = mosquitto_lib_version(&major, &minor, &revision)
        return MQTTClient.LibraryVersion(major: Int(major), minor: Int(minor), revision: Int(revision))
    }()

    static let success = code(MOSQ_ERR_SUCCESS)
    static let noConnection = code(MOSQ_ERR_NO_CONN)
    static let connectionRefused = code(MOSQ_ERR_CONN_REFUSED)

    static func code(_ error: mosq_err_t) -> Int32 { Int32(truncatingIfNeeded: error.rawValue) }

    /// libmosquitto's text for a return code.
    static func describe(_ rc: Int32) -> String {
        String(cString: mosquitto_strerror(rc))
    }

    /// The MQTT 5 text for a reason code (CONNACK, PUBACK, SUBACK, DISCONNECT).
    static func describeReason(_ reason: Int32) -> String {
        String(cString: mosquitto_reason_string(reason))
    }

    /// The MQTT 3.1.1 text for a CONNACK return code.
    static func describeConnack(_ code: Int32) -> String {
        String(cString: mosquitto_connack_string(code))
    }
}

/// An MQTT 5 property list built for one packet, freed when the builder goes away.
struct MosquittoProperties: ~Copyable {
    var list: OpaquePointer?

    init() {}

    deinit {
        var owned = list
        mosquitto_property_free_all(&owned)
    }

    /// Hands the list to a libmosquitto call that takes ownership of it.
    mutating func take() -> OpaquePointer? {
        defer { list = nil }
        return list
    }

    /// The Content Type and User Properties of `message` (MQTT 5; MQTT 3.1.1 has none).
    ///
    /// - Throws: ``TransportError`` `.invalidMessage` for properties MQTT 3.1.1 cannot carry
    ///   or strings that cannot be sent (a NUL character).
    mutating func add(_ message: MQTTMessage, version: MQTTProtocolVersion) throws(TransportError) {
        guard version == .v5 else {
            guard message.contentType == nil, message.userProperties.isEmpty else {
                throw TransportError(
                    .invalidMessage, "MQTT 3.1.1 has no Content Type or User Properties: publish structured JSON")
            }
            return
        }
        func fail(_ what: String) -> TransportError {
            TransportError(
                .invalidMessage, "MQTT property \(what) cannot be sent (MQTT strings exclude NUL and control characters)")
        }
        if let contentType = message.contentType {
            guard Self.isMQTTString(contentType), addString(MQTT_PROP_CONTENT_TYPE, contentType) else {
                throw fail("Content Type '\(contentType)'")
            }
        }
        for property in message.userProperties {
            guard Self.isMQTTString(property.name), Self.isMQTTString(property.value),
                addStringPair(MQTT_PROP_USER_PROPERTY, property.name, property.value)
            else { throw fail("'\(property.name)'") }
        }
    }

    /// Whether `text` is a string MQTT can carry, by the rule the broker applies
    /// (`mosquitto_validate_utf8`: no NUL, no control characters, no noncharacters). A
    /// string that breaks it makes mosquitto drop the connection, and libmosquitto would
    /// resend the QoS 1/2 message after every reconnect: it must never be sent.
    static func isMQTTString(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return true }  // empty
            guard bytes.count <= 65535 else { return false }
            // Printable ASCII passes every rule; most strings are that, and libmosquitto's
            // decoder costs as much as a publish's other checks together.
            if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return true }
            guard !bytes.contains(0) else { return false }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                mosquitto_validate_utf8($0, Int32(bytes.count)) == Mosquitto.success
            }
        }
    }

    // `withCString`, not a String passed straight as `const char *`: that conversion copies
    // a small (≤ 15-byte) string, which most attribute names and many values are, into a
    // heap array; `withCString` lends it from the stack. Every publish adds several.

    mutating func addString(_ identifier: mqtt5_property, _ value: String) -> Bool {
        value.withCString { value in
            mosquitto_property_add_string(&list, Int32(identifier.rawValue), value) == Mosquitto.success
        }
    }

    mutating func addStringPair(_ identifier: mqtt5_property, _ name: String, _ value: String) -> Bool {
        name.withCString { name in
            value.withCString { value in
                mosquitto_property_add_string_pair(&list, Int32(identifier.rawValue), name, value) == Mosquitto.success
            }
        }
    }

    mutating func addInt16(_ identifier: mqtt5_property, _ value: UInt16) -> Bool {
        mosquitto_property_add_int16(&list, Int32(identifier.rawValue), value) == Mosquitto.success
    }

    mutating func addInt32(_ identifier: mqtt5_property, _ value: UInt32) -> Bool {
        mosquitto_property_add_int32(&list, Int32(identifier.rawValue), value) == Mosquitto.success
    }

    mutating func addVarint(_ identifier: mqtt5_property, _ value: UInt32) -> Bool {
        mosquitto_property_add_varint(&list, Int32(identifier.rawValue), value) == Mosquitto.success
    }
}

/// Reads the properties of a received packet: Content Type, User Properties (in order,
/// repeats kept) and Subscription Identifiers.
struct ReceivedProperties {
    var contentType: String?
    var userProperties: [MQTTUserProperty] = []
    var subscriptionIdentifiers: [Int32] = []

    init(_ first: OpaquePointer?) {
        let contentTypeID = Int32(MQTT_PROP_CONTENT_TYPE.rawValue)
        let userPropertyID = Int32(MQTT_PROP_USER_PROPERTY.rawValue)
        let subscriptionID = Int32(MQTT_PROP_SUBSCRIPTION_IDENTIFIER.rawValue)
        // A binary-mode event carries its attributes as User Properties: room for the usual
        // handful at once, not by doubling from one (this runs per message on the network thread).
        userProperties.reserveCapacity(8)
        var property = first
        while let current = property {
            switch mosquitto_property_identifier(current) {
            case contentTypeID:
                var value: UnsafeMutablePointer<CChar>?
                if mosquitto_property_read_string(current, contentTypeID, &value, false) != nil, let value {
                    contentType = String(cString: value)
                    free(value)
                }
            case userPropertyID:
                var name: UnsafeMutablePointer<CChar>?
                var value: UnsafeMutablePointer<CChar>?
                if mosquitto_property_read_string_pair(current, userPropertyID, &name, &value, false) != nil {
                    if let name, let value {
                        userProperties.append(MQTTUserProperty(String(cString: name), String(cString: value)))
                    }
                    free(name)
                    free(value)
                }
            case subscriptionID:
                var identifier: UInt32 = 0
                if mosquitto_property_read_varint(current, subscriptionID, &identifier, false) != nil {
                    subscriptionIdentifiers.append(Int32(truncatingIfNeeded: identifier))
                }
            default:
                break
            }
            property = mosquitto_property_next(current)
        }
    }
}
