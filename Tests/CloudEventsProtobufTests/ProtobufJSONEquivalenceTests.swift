import CloudEvents
import CloudEventsProtobuf
import Testing

/// JSON-format events covering every attribute type, each data shape, 0.3 and 1.0.
/// Each must survive JSON → Protobuf → JSON unchanged, except that timestamps keep only
/// their instant (Protobuf has no UTC offset), so they are compared by instant.
let jsonCorpus: [String] = [
    // The four required attributes only.
    #"{"specversion":"1.0","id":"1","source":"/s","type":"t"}"#,
    // The spec's example with every optional attribute.
    #"""
    {"specversion":"1.0","type":"com.github.pull_request.opened","source":"https://github.com/cloudevents/spec/pull",
     "subject":"123","id":"A234-1234-1234","time":"2018-04-05T17:31:00Z","comexampleextension1":"value",
     "comexampleothervalue":5,"datacontenttype":"text/xml","data":"<much wow=\"xml\"/>"}
    """#,
    // Every extension type the JSON format can express, and a time with an offset and nanoseconds.
    #"""
    {"specversion":"1.0","id":"ext","source":"urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66","type":"com.example.ext",
     "time":"2018-04-05T17:31:00.123456789+02:00","dataschema":"https://example.com/schema.json#/defs/a",
     "flag":true,"off":false,"count":-2147483648,"max":2147483647,"zero":0,"text":"héllo ✓ 😀","empty":"",
     "traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","1startswithdigit":"ok",
     "opcuametadatamajorversion":3}
    """#,
    // Data shapes.
    #"{"specversion":"1.0","id":"d1","source":"/s","type":"t","datacontenttype":"application/json","data":{"a":[1,2.5,{"b":null}],"c":"d"}}"#,
    #"{"specversion":"1.0","id":"d2","source":"/s","type":"t","data":{"implied":"application/json"}}"#,
    #"{"specversion":"1.0","id":"d3","source":"/s","type":"t","data":"I'm just a string"}"#,
    #"{"specversion":"1.0","id":"d4","source":"/s","type":"t","datacontenttype":"application/json","data":null}"#,
    #"{"specversion":"1.0","id":"d5","source":"/s","type":"t","datacontenttype":"application/json","data":1.5e3}"#,
    #"{"specversion":"1.0","id":"d6","source":"/s","type":"t","datacontenttype":"application/json","data":[]}"#,
    #"{"specversion":"1.0","id":"d7","source":"/s","type":"t","datacontenttype":"application/json","data":""}"#,
    #"{"specversion":"1.0","id":"d8","source":"/s","type":"t","datacontenttype":"application/cloudevents+json","data":{"nested":true}}"#,
    #"{"specversion":"1.0","id":"d9","source":"/s","type":"t","datacontenttype":"text/plain","data":"plain text, ünïcödé"}"#,
    #"{"specversion":"1.0","id":"d10","source":"/s","type":"t","datacontenttype":"text/plain","data":""}"#,
    #"{"specversion":"1.0","id":"d11","source":"/s","type":"t","datacontenttype":"application/vnd.apache.thrift.binary","data_base64":"AAECAwT/"}"#,
    #"{"specversion":"1.0","id":"d12","source":"/s","type":"t","data_base64":"eyAieHl6IjogMTIzIH0="}"#,
    #"{"specversion":"1.0","id":"d13","source":"/s","type":"t","data_base64":""}"#,
    #"{"specversion":"1.0","id":"d14","source":"/s","type":"t","datacontenttype":"application/json"}"#,
    #"{"specversion":"1.0","id":"d15","source":"/s","type":"t","datacontenttype":"text/plain","data":"{\"a\":1}"}"#,
    #"{"specversion":"1.0","id":"d16","source":"/s","type":"t","datacontenttype":"application/json","data":"{\"a\":1}"}"#,
    // Explicit nulls for optional attributes mean absent.
    #"{"specversion":"1.0","id":"n1","source":"/s","type":"t","subject":null,"time":null,"myext":null}"#,
    // Timestamps: offsets, the -00:00 "unknown offset", leap second, edges of the range.
    #"{"specversion":"1.0","id":"t1","source":"/s","type":"t","time":"2018-04-05T17:31:00-00:00"}"#,
    #"{"specversion":"1.0","id":"t2","source":"/s","type":"t","time":"1985-04-12T23:20:50.52Z"}"#,
    #"{"specversion":"1.0","id":"t3","source":"/s","type":"t","time":"1990-12-31T15:59:60-08:00"}"#,
    #"{"specversion":"1.0","id":"t4","source":"/s","type":"t","time":"0001-01-01T00:00:00Z"}"#,
    #"{"specversion":"1.0","id":"t5","source":"/s","type":"t","time":"9999-12-31T23:59:59.999999999Z"}"#,
    #"{"specversion":"1.0","id":"t6","source":"/s","type":"t","time":"2018-04-05t17:31:00.1z"}"#,
    // 0.3.
    #"""
    {"specversion":"0.3","id":"v03","source":"/mycontext","type":"com.example.someevent","time":"2018-04-05T17:31:00Z",
     "schemaurl":"schemas/relative.json","subject":"sub","datacontenttype":"application/json","data":{"x":1},
     "comexampleextension1":"value"}
    """#,
    #"{"specversion":"0.3","id":"v03b","source":"/s","type":"t","datacontentencoding":"base64","data":"AAEC"}"#,
    #"{"specversion":"0.3","id":"v03c","source":"/s","type":"t","datacontenttype":"text/plain","data":"x","dataschema":"ext-in-0.3"}"#,
    // Escapes in strings.
    #"{"specversion":"1.0","id":"e\u00e9\"\\","source":"/a%20b","type":"t\/u","subject":"\uD83D\uDE00"}"#
]

@Suite("Protobuf format: JSON → Protobuf → JSON equivalence")
struct ProtobufJSONEquivalenceTests {
    static let json = JSONEventFormat()

    @Test("each JSON event survives JSON → Protobuf → JSON", arguments: jsonCorpus)
    func equivalence(_ text: String) throws {
        let fromJSON = try Self.json.decode(Array(text.utf8))
        for protobuf in [ProtobufEventFormat(), ProtobufEventFormat(jsonDataField: .binary)] {
            var expected = fromJSON
            if protobuf.jsonDataField == .binary, case .json? = expected.data, expected.dataContentType == nil {
                // JSON in binary_data needs its implied content type on the wire.
                expected.dataContentType = "application/json"
            }
            let protobufBytes = try protobuf.encode(fromJSON)
            let fromProtobuf = try protobuf.decode(protobufBytes)
            #expect(isEquivalent(fromProtobuf, expected), "\(fromProtobuf) vs \(expected)")
            // Timestamps come back in UTC.
            if let time = fromProtobuf.time { #expect(time.utcOffsetMinutes == 0) }

            let backToJSON = try Self.json.decode(try Self.json.encode(fromProtobuf))
            #expect(isEquivalent(backToJSON, expected))
            // And Protobuf is stable: encoding the decoded event gives the same bytes.
            #expect(try protobuf.encode(fromProtobuf) == protobufBytes)
        }
    }

    @Test func corpusAsOneBatch() throws {
        let events = try jsonCorpus.map { try Self.json.decode(Array($0.utf8)) }
        let v10 = events.filter { $0.specVersion == .v1_0 }
        let decoded = try ProtobufEventFormat().decodeBatch(try ProtobufEventFormat().encodeBatch(v10))
        #expect(decoded.count == v10.count)
        #expect(zip(decoded, v10).allSatisfy(isEquivalent))
    }

    /// The one documented difference: `data_base64` labelled JSON comes back as JSON
    /// (`data` instead of `data_base64` in JSON), the same bytes.
    @Test func base64JSONBecomesJSONData() throws {
        let text =
            #"{"specversion":"1.0","id":"x","source":"/s","type":"t","datacontenttype":"application/json","data_base64":"eyJhIjoxfQ=="}"#
        let fromJSON = try Self.json.decode(Array(text.utf8))
        #expect(fromJSON.data == .binary(Array(#"{"a":1}"#.utf8)))
        let fromProtobuf = try ProtobufEventFormat().decode(try ProtobufEventFormat().encode(fromJSON))
        #expect(fromProtobuf.data == .json(try RawJSON(validating: #"{"a":1}"#)))
        #expect(
            fromProtobuf.data?.bodyBytes(contentType: "application/json")
                == fromJSON.data?.bodyBytes(contentType: "application/json"))
    }
}
