import CloudEvents
import Testing

/// Events and messages with many more extensions than usual, past the point where lookups
/// and duplicate checks switch from a scan to an index (a hostile message with tens of
/// thousands of members must cost linear time, not quadratic): they behave exactly as
/// small ones do.
@Suite("Many attributes")
struct ManyAttributesTests {
    static let count = 200
    static func name(_ index: Int) -> String { "x\(index)" }

    @Test func extensionLookupsUpdatesAndRemovalsPastTheIndexThreshold() {
        var extensions = ExtensionAttributes()
        for index in 0..<Self.count { extensions[Self.name(index)] = .integer(Int32(index)) }
        #expect(extensions.count == Self.count)
        #expect(extensions.names == (0..<Self.count).map(Self.name))
        for index in 0..<Self.count { #expect(extensions[Self.name(index)] == .integer(Int32(index))) }
        #expect(extensions["absent"] == nil)

        // Setting an existing name keeps its position; removing shifts the rest.
        extensions[Self.name(150)] = .string("updated")
        #expect(extensions.count == Self.count)
        #expect(extensions.names[150] == Self.name(150))
        for index in stride(from: 0, to: Self.count, by: 2) { extensions[Self.name(index)] = nil }
        #expect(extensions.count == Self.count / 2)
        #expect(extensions.names == stride(from: 1, to: Self.count, by: 2).map(Self.name))
        for index in 0..<Self.count {
            let expected: AttributeValue? = index % 2 == 0 ? nil : (index == 150 ? "updated" : .integer(Int32(index)))
            #expect(extensions[Self.name(index)] == expected, "\(Self.name(index))")
        }
        // Back below the threshold, and up again.
        for index in stride(from: 1, to: Self.count - 20, by: 2) { extensions[Self.name(index)] = nil }
        #expect(extensions.count == 10)
        #expect(extensions[Self.name(Self.count - 1)] == .integer(Int32(Self.count - 1)))
        for index in 0..<Self.count { extensions["y\(index)"] = true }
        #expect(extensions.count == 10 + Self.count)
        #expect(extensions["y\(Self.count - 1)"] == true)
        #expect(extensions[Self.name(Self.count - 1)] == .integer(Int32(Self.count - 1)))
    }

    @Test func equalityAndHashingIgnoreOrderWithManyExtensions() {
        var forward = ExtensionAttributes()
        var backward = ExtensionAttributes()
        for index in 0..<Self.count { forward[Self.name(index)] = .integer(Int32(index)) }
        for index in (0..<Self.count).reversed() { backward[Self.name(index)] = .integer(Int32(index)) }
        #expect(forward == backward)
        #expect(forward.hashValue == backward.hashValue)
        backward[Self.name(7)] = .integer(-1)
        #expect(forward != backward)
    }

    static func jsonEvent(extensions names: [String]) -> [UInt8] {
        let members = names.map { #""\#($0)":"v""# }.joined(separator: ",")
        return Array(#"{"specversion":"1.0","id":"1","source":"/s","type":"t",\#(members)}"#.utf8)
    }

    @Test func theJSONFormatDecodesManyExtensionsAndFindsALateDuplicate() throws {
        let names = (0..<Self.count).map(Self.name)
        let event = try JSONEventFormat().decode(Self.jsonEvent(extensions: names))
        #expect(event.extensions.names == names)
        #expect(event.extensions[Self.name(Self.count - 1)] == "v")
        #expect(throws: EventFormatError(.duplicateAttribute(Self.name(3)))) {
            try JSONEventFormat().decode(Self.jsonEvent(extensions: names + [Self.name(3)]))
        }
        // The first duplicate is the one named, below the threshold or past it.
        #expect(throws: EventFormatError(.duplicateAttribute(Self.name(1)))) {
            try JSONEventFormat().decode(Self.jsonEvent(extensions: [Self.name(0), Self.name(1), Self.name(1)] + names))
        }
    }

    @Test func theBuilderTakesManyAttributesAndRefusesALateDuplicate() throws {
        func message(extraNames: [String]) throws -> Message {
            var message = Message()
            for (name, value) in [("specversion", "1.0"), ("id", "1"), ("source", "/s"), ("type", "t")] {
                try message.writeAttribute(name, .string(value))
            }
            for name in extraNames { try message.writeAttribute(name, "v") }
            return message
        }
        let names = (0..<Self.count).map(Self.name)
        let event = try message(extraNames: names).event()
        #expect(event.extensions.names == names)

        var builder = CloudEventBuilder()
        for (name, value) in [("specversion", "1.0"), ("id", "1"), ("source", "/s"), ("type", "t")] {
            try builder.writeAttribute(name, .string(value))
        }
        for name in names { try builder.writeAttribute(name, "v") }
        #expect(throws: MessageError(.duplicateAttribute(Self.name(5)))) { try builder.writeAttribute(Self.name(5), "w") }
        #expect(throws: MessageError(.duplicateAttribute("id"))) { try builder.writeAttribute("id", "2") }
        #expect(try builder.build().extensions.count == Self.count)
    }
}
