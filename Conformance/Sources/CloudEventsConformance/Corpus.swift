public import CloudEvents

/// The events every format and binding must carry without loss: every attribute type,
/// every data shape (none, empty, JSON object, JSON string, JSON number, JSON null, text,
/// binary), both spec versions, and values that other SDKs corrupt (spaces, quotes, `%`,
/// non-ASCII, `+` and `/` in Base64, nanosecond timestamps with offsets, long and
/// digit-first names).
public enum Corpus {
    /// One named event.
    public struct Case: Sendable, CustomStringConvertible {
        public let name: String
        public let event: CloudEvent

        public var description: String { name }
    }

    /// Every valid event of the corpus.
    public static let events: [Case] = [
        Case(name: "minimal", event: CloudEvent(id: "1", source: "/s", type: "t")),
        Case(name: "all core attributes, JSON object data", event: allCoreAttributes),
        Case(name: "every extension type", event: everyExtensionType),
        Case(
            name: "JSON string data, no content type",
            event: CloudEvent(
                id: "json-string", source: "/s", type: "t", data: .json(json(#""I'm just a string""#)))),
        Case(
            name: "JSON number data",
            event: CloudEvent(
                id: "json-number", source: "/s", type: "t", dataContentType: "application/json", data: .json(json("1.5")))),
        Case(
            name: "JSON null data",
            event: CloudEvent(
                id: "json-null", source: "/s", type: "t", dataContentType: "application/json", data: .json(.null))),
        Case(
            name: "JSON array data, +json content type",
            event: CloudEvent(
                id: "json-array", source: "/s", type: "t", dataContentType: "application/ld+json; charset=utf-8",
                data: .json(json(#"["Hello","🌎!",{"nested":[true,false,null]}]"#)))),
        Case(
            name: "text data",
            event: CloudEvent(
                id: "text", source: "/s", type: "t", dataContentType: "text/plain; charset=utf-8",
                data: .text("Hello, 🌎!\nSecond line with \"quotes\" and a tab\t."))),
        Case(
            name: "XML text data",
            event: CloudEvent(
                id: "xml", source: "/s", type: "t", dataContentType: "application/xml", data: .text(#"<much wow="xml"/>"#))),
        Case(
            name: "binary data with content type",
            event: CloudEvent(
                id: "binary", source: "/s", type: "t", dataContentType: "application/vnd.apache.thrift.binary",
                data: .binary([0x00, 0x01, 0xFE, 0xFF, 0x80, 0x7F, 0x0A, 0x22]))),
        Case(
            name: "binary data without content type",
            event: CloudEvent(
                id: "binary-no-type", source: "/s", type: "t", data: .binary(Array(#"{ "xyz": 123 }"#.utf8)))),
        Case(
            name: "empty binary data",
            event: CloudEvent(
                id: "empty-binary", source: "/s", type: "t", dataContentType: "application/octet-stream", data: .binary([]))),
        Case(
            name: "empty text data",
            event: CloudEvent(
                id: "empty-text", source: "/s", type: "t", dataContentType: "text/plain", data: .text(""))),
        Case(name: "header-hostile values", event: headerHostile),
        Case(name: "timestamps", event: timestamps),
        Case(
            name: "spec 0.3 with schemaurl and binary data",
            event: CloudEvent(
                id: "v03", source: "/mycontext/subcontext", type: "com.example.someevent", specVersion: .v0_3,
                dataContentType: "application/octet-stream", dataSchema: "schemas/v03.json",
                time: timestamp("2018-04-05T03:56:24Z"), extensions: ["comexampleextension1": "value"],
                data: .binary([1, 2, 3]))),
        Case(
            name: "spec 0.3 with JSON data",
            event: CloudEvent(
                id: "v03-json", source: "/s", type: "t", specVersion: .v0_3, dataContentType: "application/json",
                data: .json(json(#"{"world":"hello"}"#))))
    ]

    static let allCoreAttributes = CloudEvent(
        id: "A234-1234-1234", source: "https://github.com/cloudevents/spec/pull", type: "com.github.pull_request.opened",
        dataContentType: "application/json", dataSchema: "https://example.com/schemas/pull.json",
        subject: "123", time: timestamp("2018-04-05T17:31:00Z"),
        data: .json(json(#"{"a":1,"b":[true,null,"x"],"c":{"d":-2.5e3}}"#)))

    static let everyExtensionType = CloudEvent(
        id: "ext", source: "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", type: "com.example.ext",
        extensions: [
            "boolfalse": .boolean(false),
            "booltrue": .boolean(true),
            "intmax": .integer(Int32.max),
            "intmin": .integer(Int32.min),
            "intzero": .integer(0),
            "str": .string("value"),
            "bin": .binary([0xFB, 0xFF, 0xBF, 0x00, 0x3E]),
            "uri": .uri("https://example.com/a?b=c"),
            "uriref": .uriReference("../relative/path"),
            "ts": .timestamp(timestamp("2020-02-29T23:59:60.5-05:30")),
            "opcuametadatamajorversion": .integer(25),
            "1digitfirst": .string("names may start with a digit")
        ])

    static let headerHostile = CloudEvent(
        id: "id with spaces and \"quotes\"", source: "/a%20b/c?d=e&f=%25", type: "com.example.€uro",
        subject: "Euro € 😀 100%", time: timestamp("2018-04-05T17:31:00.123456789+02:00"),
        extensions: [
            "percent": .string("%41 is not A"),
            "plus": .string("a+b=c/d:e"),
            "unicode": .string("中文 and ünïcödé"),
            "spaces": .string("  padded  ")
        ],
        data: .json(json(#"{"text":"€ \u20ac \\ \""}"#)))

    static let timestamps = CloudEvent(
        id: "times", source: "/s", type: "t", time: timestamp("1985-04-12T23:20:50.52Z"),
        extensions: [
            "nanos": .timestamp(timestamp("2018-04-05T17:31:00.000000001Z")),
            "unknownoffset": .timestamp(timestamp("1996-12-19T16:39:57-00:00")),
            "negoffset": .timestamp(timestamp("1996-12-19T16:39:57-08:00")),
            "year1": .timestamp(timestamp("0001-01-01T00:00:00Z")),
            "year9999": .timestamp(timestamp("9999-12-31T23:59:59.999999999+14:00"))
        ])

    /// Test data is written by hand: a literal that does not parse is a bug in the corpus.
    static func json(_ text: String) -> RawJSON {
        do { return try RawJSON(validating: text) } catch { preconditionFailure("corpus JSON \(text): \(error)") }
    }

    static func timestamp(_ text: String) -> Timestamp {
        do { return try Timestamp(rfc3339: text) } catch { preconditionFailure("corpus timestamp \(text): \(error)") }
    }
}

extension Corpus {
    /// The types of the corpus's extensions that formats without types carry as strings.
    public static let extensionTypes: ExtensionTypes = [
        "bin": .binary, "uri": .uri, "uriref": .uriReference, "ts": .timestamp,
        "nanos": .timestamp, "unknownoffset": .timestamp, "negoffset": .timestamp, "year1": .timestamp,
        "year9999": .timestamp
    ]
}
