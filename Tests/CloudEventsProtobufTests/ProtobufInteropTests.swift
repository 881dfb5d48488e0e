import CloudEvents
import CloudEventsProtobuf
import CloudEventsTestSupport
import Foundation
import Testing

/// Interop with a Protobuf implementation we did not write: Google's `protoc` decodes our
/// bytes to the expected text format, and our decoder reads what `protoc --encode` writes.
///
/// `protoc` comes from the Debian package `protobuf-compiler` (Scripts/bootstrap installs
/// it). Without it these tests fail: they do not skip.
@Suite("Protobuf format: interop with protoc")
struct ProtobufInteropTests {
    /// `Sources/CCloudEventsProtobuf/proto`, which holds `cloudevents.proto` and the
    /// well-known types it imports.
    static let protoDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/CCloudEventsProtobuf/proto")

    static let sampleEvent: CloudEvent = {
        var event = CloudEvent(
            id: "A234-1234-1234", source: "https://github.com/cloudevents/spec/pull",
            type: "com.github.pull_request.opened")
        event.time = try! Timestamp(rfc3339: "2018-04-05T19:31:00.123456789+02:00")
        event.subject = "123"
        event.dataSchema = "https://example.com/schema"
        event.dataContentType = "application/json"
        event.extensions = [
            "flag": true, "n": -5, "bin": .binary([1, 2, 0xFF]), "ref": .uriReference("/relative"),
            "site": .uri("https://example.com"), "note": "grüße ✓"
        ]
        event.data = .json(try! RawJSON(validating: #"{"a":1}"#))
        return event
    }()

    /// protoc's text format for ``sampleEvent`` (map entries sorted by key, bytes and
    /// non-ASCII text as octal escapes).
    static let sampleText = #"""
        id: "A234-1234-1234"
        source: "https://github.com/cloudevents/spec/pull"
        spec_version: "1.0"
        type: "com.github.pull_request.opened"
        attributes {
          key: "bin"
          value {
            ce_bytes: "\001\002\377"
          }
        }
        attributes {
          key: "datacontenttype"
          value {
            ce_string: "application/json"
          }
        }
        attributes {
          key: "dataschema"
          value {
            ce_uri: "https://example.com/schema"
          }
        }
        attributes {
          key: "flag"
          value {
            ce_boolean: true
          }
        }
        attributes {
          key: "n"
          value {
            ce_integer: -5
          }
        }
        attributes {
          key: "note"
          value {
            ce_string: "gr\303\274\303\237e \342\234\223"
          }
        }
        attributes {
          key: "ref"
          value {
            ce_uri_ref: "/relative"
          }
        }
        attributes {
          key: "site"
          value {
            ce_uri: "https://example.com"
          }
        }
        attributes {
          key: "subject"
          value {
            ce_string: "123"
          }
        }
        attributes {
          key: "time"
          value {
            ce_timestamp {
              seconds: 1522949460
              nanos: 123456789
            }
          }
        }
        text_data: "{\"a\":1}"

        """#

    @Test func protocDecodesOurBytes() throws {
        let bytes = try ProtobufEventFormat().encode(Self.sampleEvent)
        let text = try Self.protoc(["--decode", "io.cloudevents.v1.CloudEvent", "cloudevents.proto"], input: bytes)
        #expect(String(decoding: text, as: UTF8.self) == Self.sampleText)
    }

    @Test func protocDecodesOurBinaryJSONAndBatch() throws {
        var event = Self.sampleEvent
        event.extensions = [:]
        event.time = nil
        let binary = try ProtobufEventFormat(jsonDataField: .binary).encode(event)
        let text = String(
            decoding: try Self.protoc(["--decode", "io.cloudevents.v1.CloudEvent", "cloudevents.proto"], input: binary),
            as: UTF8.self)
        #expect(text.hasSuffix("binary_data: \"{\\\"a\\\":1}\"\n"))

        var empty = CloudEvent(id: "e", source: "/s", type: "t")
        empty.data = .binary([])
        let batch = try ProtobufEventFormat().encodeBatch([event, empty])
        let batchText = String(
            decoding: try Self.protoc(["--decode", "io.cloudevents.v1.CloudEventBatch", "cloudevents.proto"], input: batch),
            as: UTF8.self)
        #expect(batchText.components(separatedBy: "events {").count == 3)
        // Empty but present data is on the wire (oneof presence).
        #expect(batchText.contains("binary_data: \"\"\n"))
    }

    @Test func weDecodeProtocBytes() throws {
        let bytes = try Self.protoc(
            ["--encode", "io.cloudevents.v1.CloudEvent", "cloudevents.proto"], input: Array(Self.sampleText.utf8))
        let decoded = try ProtobufEventFormat().decode(bytes)
        #expect(isEquivalent(decoded, Self.sampleEvent))
        #expect(decoded.time?.description == "2018-04-05T17:31:00.123456789Z")
        // protoc writes the same bytes we do (map order aside, the entries are identical).
        #expect(try ProtobufEventFormat().decode(try ProtobufEventFormat().encode(decoded)) == decoded)
    }

    /// The Go SDK's way: JSON in `binary_data`; and `proto_data` with an `Any`.
    @Test func weDecodeProtocBinaryJSONAndProtoData() throws {
        let text = #"""
            id: "go-1"
            source: "/go"
            spec_version: "1.0"
            type: "com.example.go"
            attributes { key: "datacontenttype" value { ce_string: "application/json" } }
            binary_data: "{\"temperature\": 21.5}"
            """#
        let bytes = try Self.protoc(["--encode", "io.cloudevents.v1.CloudEvent", "cloudevents.proto"], input: Array(text.utf8))
        #expect(try ProtobufEventFormat().decode(bytes).data == .json(try RawJSON(validating: #"{"temperature": 21.5}"#)))

        let anyText = #"""
            id: "proto-1"
            source: "/proto"
            spec_version: "1.0"
            type: "com.example.proto"
            proto_data { type_url: "type.googleapis.com/google.protobuf.Duration" value: "\010\052" }
            """#
        let anyBytes = try Self.protoc(
            ["--encode", "io.cloudevents.v1.CloudEvent", "cloudevents.proto"], input: Array(anyText.utf8))
        let decoded = try ProtobufEventFormat().decode(anyBytes)
        #expect(decoded.dataContentType == "application/protobuf")
        guard case .binary(let serializedAny)? = decoded.data else {
            Issue.record("expected binary data, got \(String(describing: decoded.data))")
            return
        }
        // The data is a google.protobuf.Any that protoc itself reads back.
        let anyDecoded = try Self.protoc(["--decode", "google.protobuf.Any", "google/protobuf/any.proto"], input: serializedAny)
        #expect(
            String(decoding: anyDecoded, as: UTF8.self)
                == "type_url: \"type.googleapis.com/google.protobuf.Duration\"\nvalue: \"\\010*\"\n")
    }

    @Test func weDecodeAProtocBatch() throws {
        let text = #"""
            events { id: "1" source: "/s" spec_version: "1.0" type: "t" text_data: "" }
            events { id: "2" source: "/s" spec_version: "1.0" type: "t"
                     attributes { key: "time" value { ce_timestamp { seconds: -62135596800 } } } }
            events { id: "3" source: "/s" spec_version: "1.0" type: "t" binary_data: "\000" }
            """#
        let bytes = try Self.protoc(
            ["--encode", "io.cloudevents.v1.CloudEventBatch", "cloudevents.proto"], input: Array(text.utf8))
        let events = try ProtobufEventFormat().decodeBatch(bytes)
        #expect(events.map(\.id) == ["1", "2", "3"])
        #expect(events[0].data == .text(""))
        #expect(events[1].time?.description == "0001-01-01T00:00:00Z")
        #expect(events[2].data == .binary([0]))
    }

    // MARK: Running protoc

    struct ProtocFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `protoc -I<proto directory> arguments` with `input` on stdin; its stdout.
    static func protoc(_ arguments: [String], input: [UInt8]) throws -> [UInt8] {
        guard let protoc = findExecutable("protoc") else {
            throw ProtocFailure(
                description:
                    "protoc not found on PATH: install protobuf-compiler (Scripts/bootstrap does) to run the interop tests")
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("ce-protoc-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputURL = directory.appendingPathComponent("input")
        let outputURL = directory.appendingPathComponent("output")
        let errorURL = directory.appendingPathComponent("error")
        try Data(input).write(to: inputURL)
        try Data().write(to: outputURL)
        try Data().write(to: errorURL)

        let process = ChildProcess()
        process.executableURL = protoc
        process.arguments = ["-I\(protoDirectory.path)"] + arguments
        let stdin = try FileHandle(forReadingFrom: inputURL)
        let stdout = try FileHandle(forWritingTo: outputURL)
        let stderr = try FileHandle(forWritingTo: errorURL)
        defer {
            try? stdin.close()
            try? stdout.close()
            try? stderr.close()
        }
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: errorURL, encoding: .utf8)) ?? ""
            throw ProtocFailure(
                description: "protoc \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(message)")
        }
        return Array(try Data(contentsOf: outputURL))
    }

    private static func findExecutable(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        for directory in directories {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }
}
