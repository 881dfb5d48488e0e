import CloudEvents
import CloudEventsConformance
import CloudEventsProtobuf
import Foundation
import Testing

/// Every valid event of the corpus is valid, survives the JSON format as it is, and
/// survives the Protobuf format as the spec's equivalence allows (timestamps by instant).
@Suite("Corpus: valid events")
struct CorpusValidEventTests {
    @Test func theCorpusHasAtLeastFortyEvents() {
        #expect(Corpus.events.count >= 40)
        #expect(Set(Corpus.events.map(\.name)).count == Corpus.events.count, "names are unique")
    }

    @Test(arguments: Corpus.events)
    func validates(_ item: Corpus.Case) throws {
        #expect(throws: Never.self, "\(item.name)") { try item.event.validate() }
    }

    /// JSON → event → JSON → event: the same event, and the second encoding equals the first.
    @Test(arguments: Corpus.events)
    func roundTripsThroughJSON(_ item: Corpus.Case) throws {
        let format = JSONEventFormat(extensionTypes: item.extensionTypes)
        let bytes = try format.encode(item.event)
        let back = try format.decode(bytes)
        #expect(Equivalence.exact.differences(item.event, back) == [], "\(item.name)")
        #expect(try format.encode(back) == bytes, "\(item.name): re-encoding changed the bytes")
    }

    /// The file read by a plain JSON parser (not this toolkit's) has the event's attributes:
    /// every string or boolean member is the attribute's canonical string or value, so the
    /// files mean what they say to any reader.
    @Test(arguments: Corpus.events)
    func aPlainJSONReaderSeesTheSameAttributes(_ item: Corpus.Case) throws {
        let file = try #require(item.file)
        let url = try CorpusFiles.bundled().directory.appendingPathComponent("valid/" + file)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let attributes = Dictionary(uniqueKeysWithValues: item.event.attributes.map { ($0.name, $0.value) })
        let dataMembers: Set<String> = ["data", "data_base64", "datacontentencoding"]
        #expect(Set(object.keys).subtracting(dataMembers) == Set(attributes.keys).subtracting(dataMembers), "\(item.name)")
        for (name, member) in object where !dataMembers.contains(name) {
            if let text = member as? String {
                #expect(attributes[name]?.canonicalString == text, "\(item.name): \(name)")
            }
        }
    }

    /// JSON → Protobuf → JSON: equivalent by instant (Protobuf keeps UTC only), with the
    /// `application/json` that JSON data without `datacontenttype` implies written out (as
    /// the spec says a re-encoding should), for both ways of carrying JSON data in Protobuf.
    @Test(arguments: Corpus.events)
    func roundTripsThroughProtobuf(_ item: Corpus.Case) throws {
        let json = JSONEventFormat(extensionTypes: item.extensionTypes)
        let fromJSON = try json.decode(try json.encode(item.event))
        for protobuf in [ProtobufEventFormat(jsonDataField: .text), ProtobufEventFormat(jsonDataField: .binary)] {
            let throughProtobuf = try protobuf.decode(try protobuf.encode(fromJSON))
            let back = try json.decode(try json.encode(throughProtobuf))
            // `.binary` writes the implied type out so that the bytes stay JSON; `.text` need not.
            let differences = Equivalence.typedUTC.differences(item.event, back)
            let implied = Self.protobufImplyingJSON.differences(item.event, back)
            #expect(differences == [] || implied == [], "\(item.name) (\(protobuf.jsonDataField)): \(differences)")
        }
    }

    static let protobufImplyingJSON = Equivalence(timestampsByInstant: true, impliedJSONContentType: true)

    // MARK: Coverage of issue 12's list

    static var events: [CloudEvent] { Corpus.events.map(\.event) }

    @Test func bothSpecVersions() {
        #expect(Self.events.contains { $0.specVersion == .v1_0 })
        #expect(Self.events.contains { $0.specVersion == .v0_3 })
    }

    @Test func everyAttributeTypeInAnExtension() {
        let types = Set(Self.events.flatMap { $0.extensions.map(\.value.type) })
        #expect(types == Set(AttributeType.allCases))
    }

    @Test func everyTimeForm() {
        let times =
            Self.events.compactMap { $0.time?.description }
            + Self.events.flatMap { $0.extensions.compactMap { $0.value.type == .timestamp ? $0.value.canonicalString : nil } }
        func fraction(_ text: String) -> Int? {
            guard let dot = text.firstIndex(of: ".") else { return 0 }
            return text[text.index(after: dot)...].prefix { $0.isNumber }.count
        }
        for digits in [0, 3, 6, 9] { #expect(times.contains { fraction($0) == digits }, "\(digits) fraction digits") }
        for offset in ["Z", "+05:30", "-00:00"] { #expect(times.contains { $0.hasSuffix(offset) }, "offset \(offset)") }
    }

    @Test func everyDataShape() {
        let data = Self.events.map(\.data)
        #expect(data.contains { $0 == nil }, "absent")
        #expect(data.contains { $0 == .binary([]) }, "empty")
        for json in ["null", "1.5", "true", #""I'm just a string""#] {
            #expect(data.contains { if case .json(let raw)? = $0 { raw.bytes == Array(json.utf8) } else { false } }, "\(json)")
        }
        #expect(data.contains { if case .json(let raw)? = $0 { raw.bytes.first == UInt8(ascii: "{") } else { false } })
        #expect(data.contains { if case .json(let raw)? = $0 { raw.bytes.first == UInt8(ascii: "[") } else { false } })
        #expect(data.contains { if case .text? = $0 { true } else { false } }, "text")
        #expect(data.contains { ($0?.count ?? 0) >= 256 * 1024 }, "256 KiB")
    }

    @Test func extensionNamesOfOneAndTwentyCharactersAndDigitFirst() {
        let names = Self.events.flatMap { $0.extensions.names }
        #expect(names.contains { $0.count == 1 })
        #expect(names.contains { $0.count == 20 })
        #expect(names.contains { $0.first?.isNumber == true })
    }

    @Test func headerHostileValuesInSubjectSourceAndExtensions() {
        let hostile: [Character] = [" ", "\"", "%", ",", ";", "€", "😀"]
        let subjects = Self.events.compactMap(\.subject)
        let extensionStrings = Self.events.flatMap {
            $0.extensions.compactMap { $0.value.type == .string ? $0.value.canonicalString : nil }
        }
        for character in hostile {
            #expect(subjects.contains { $0.contains(character) }, "subject with \(character)")
            #expect(extensionStrings.contains { $0.contains(character) }, "extension with \(character)")
        }
        for character in ["%", ",", ";"] {
            #expect(Self.events.contains { $0.source.contains(character) }, "source with \(character)")
        }
        #expect(extensionStrings.contains { $0.hasPrefix(" ") } && extensionStrings.contains { $0.hasSuffix(" ") })
        #expect(subjects.contains { $0.hasPrefix(" ") && $0.hasSuffix(" ") })
    }
}
