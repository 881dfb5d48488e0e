import CloudEvents

/// Turns what a source delivered into what the buffer stores: the message as it arrived (a
/// structured event is not decoded), its ordering key, and for a payload that is not a
/// CloudEvent either the dead-letter reason or a wrapping event, as the route says.
struct Intake: Sendable {
    /// The ``Message/metadata`` keys under which bindings put the source address (MQTT: the
    /// topic), in the order they are looked for.
    static let addressKeys = [":topic", ":subject", ":address"]

    let orderingKey: OrderingKey
    let nonCloudEvents: NonCloudEventsPolicy
    let formats: EventFormatRegistry

    /// What to store for `message`, received at `receivedAt` (nanoseconds since 1970).
    func record(for message: Message, receivedAt: Int64) -> NewBufferedEvent {
        let message = Self.structuredIfUnmarked(message)
        let address = Self.address(of: message)
        if let problem = Self.notCloudEvent(message) {
            switch nonCloudEvents {
            case .deadLetter:
                return NewBufferedEvent(
                    key: address, message: message, receivedAt: receivedAt, deadLetterReason: "not a CloudEvent: \(problem)")
            case .wrap(let type, let source):
                if let wrapped = try? Self.wrap(message, address: address, type: type, source: source) {
                    return NewBufferedEvent(key: key(for: wrapped, address: address), message: wrapped, receivedAt: receivedAt)
                }
                return NewBufferedEvent(
                    key: address, message: message, receivedAt: receivedAt,
                    deadLetterReason: "not a CloudEvent (\(problem)) and it cannot be wrapped")
            }
        }
        return NewBufferedEvent(key: key(for: message, address: address), message: message, receivedAt: receivedAt)
    }

    /// The ordering key: the address, the `subject`, or nothing (every event its own key;
    /// the dispatcher then keys by sequence number).
    private func key(for message: Message, address: String) -> String {
        switch orderingKey {
        case .topic: return address
        case .none: return ""
        case .subject:
            if case .binary(let attributes, _) = message.content {
                if case .string(let subject)? = attributes.first(where: { $0.name == "subject" })?.value { return subject }
                return ""
            }
            // A structured event is decoded only when the route orders by subject.
            return (try? message.event(formats: formats))?.subject ?? ""
        }
    }

    /// A message with no CloudEvents metadata at all whose payload is a JSON object with a
    /// `"specversion"` member, read as structured JSON: that is what an MQTT 3.1.1
    /// publisher's event looks like to an MQTT 5 subscriber (the broker has no Content Type
    /// to give it). The spec's rule that an MQTT 5 message without Content Type is binary
    /// still holds for every valid binary message: as binary, this one has no attributes and
    /// would be no event at all.
    static func structuredIfUnmarked(_ message: Message) -> Message {
        guard case .binary(let attributes, let data?) = message.content, attributes.isEmpty,
            data.first(where: { !Self.jsonWhitespace.contains($0) }) == UInt8(ascii: "{"),
            data.contains(subsequence: specversionMember)
        else { return message }
        var structured = message
        structured.content = .structured(StructuredContent(mediaType: "application/cloudevents+json", body: data))
        return structured
    }

    private static let jsonWhitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]

    static func address(of message: Message) -> String {
        for key in addressKeys { if let value = message.metadata[key] { return value } }
        return ""
    }

    /// Why `message` is not a CloudEvent, found cheaply: a binary message has a
    /// `specversion` (bindings put it there only when they found one); a structured JSON
    /// body must contain the member name `"specversion"` somewhere (a full decode would cost
    /// as much as the rest of the bridge, and the sink judges the rest); other formats are
    /// trusted by their media type. `nil` when it looks like one.
    static func notCloudEvent(_ message: Message) -> String? {
        switch message.content {
        case .binary(let attributes, _):
            return attributes.contains { $0.name == "specversion" } ? nil : "no specversion attribute"
        case .structured(let content):
            guard let mediaType = MediaType(content.mediaType), mediaType.subtype.lowercased().hasSuffix("json") else {
                return nil
            }
            return content.body.contains(subsequence: Self.specversionMember)
                ? nil : "the JSON body has no \"specversion\" member"
        case .batch:
            return nil
        }
    }

    private static let specversionMember = Array("\"specversion\"".utf8)

    /// The wrapping event for a payload that is not a CloudEvent: the given `type` and
    /// `source`, `subject` = the address, the payload as data with its media type, and an id
    /// computed from the address and the payload, so that a redelivered message (the same
    /// payload on the same topic) gets the same id. Identical payloads on one topic share an
    /// id too: a sink that de-duplicates by id sees them as one.
    static func wrap(_ message: Message, address: String, type: String, source: String) throws -> Message {
        let payload: [UInt8]
        var mediaType: String?
        switch message.content {
        case .binary(_, let data): payload = data ?? []
        case .structured(let content), .batch(let content):
            payload = content.body
            mediaType = content.mediaType
        }
        let event = CloudEvent(
            id: StableID.of(address: address, payload: payload), source: source, type: type,
            dataContentType: mediaType ?? "application/octet-stream", subject: address.isEmpty ? nil : address,
            data: .binary(payload))
        var wrapped = try Message(event, mode: .binary)
        wrapped.metadata = message.metadata
        return wrapped
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in the array.
    fileprivate func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return needle.isEmpty }
        let first = needle[0]
        var index = 0
        let last = count - needle.count
        while index <= last {
            if self[index] == first, self[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}

/// Ids that depend only on content: FNV-1a over the address and payload, twice with
/// different offsets, as 32 hex digits.
enum StableID {
    static func of(address: String, payload: [UInt8]) -> String {
        func fnv(_ seed: UInt64) -> UInt64 {
            var hash = seed
            for byte in address.utf8 {
                hash ^= UInt64(byte)
                hash &*= 0x100_0000_01b3
            }
            hash ^= 0xff
            hash &*= 0x100_0000_01b3
            for byte in payload {
                hash ^= UInt64(byte)
                hash &*= 0x100_0000_01b3
            }
            return hash
        }
        let high = fnv(0xcbf2_9ce4_8422_2325)
        let low = fnv(0x8422_2325_cbf2_9ce4)
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return hex(high) + hex(low)
    }
}
