import CloudEvents
import CloudEventsConformance
import CloudEventsMQTT
import CloudEventsProtobuf
import Testing

/// The MQTT mapping against the binding spec (REFERENCE.md §3.2), without a broker.
@Suite struct MQTTMappingTests {
    // MARK: Writing: the exact wire shape

    @Test func binaryModeUsesContentTypeAndUnprefixedUserProperties() throws {
        let message = try sampleEvent.mqttMessage(topic: "t", qos: .exactlyOnce, retain: true)
        #expect(message.topic == "t")
        #expect(message.qos == .exactlyOnce)
        #expect(message.retain)
        #expect(message.contentType == "application/json")
        #expect(message.payload == Array(#"{"a":1,"text":"hello"}"#.utf8))
        let properties = Dictionary(uniqueKeysWithValues: message.userProperties.map { ($0.name, $0.value) })
        #expect(properties.count == message.userProperties.count, "no name twice")
        #expect(properties == sampleUserProperties)
        #expect(!properties.keys.contains { $0.hasPrefix("ce") && $0 != "ce" }, "no ce- or ce_ prefix (sdk-go's bug)")
        #expect(properties["datacontenttype"] == nil, "datacontenttype travels as Content Type only")
    }

    @Test func binaryModeWithoutDataHasAnEmptyPayloadAndNoContentType() throws {
        let event = CloudEvent(id: "1", source: "/s", type: "t")
        let message = try event.mqttMessage(topic: "t")
        #expect(message.contentType == nil)
        #expect(message.payload.isEmpty)
        let decoded = try CloudEvent(mqttMessage: message)
        #expect(decoded == event)
    }

    @Test(arguments: [false, true])
    func structuredModeCarriesTheFormatMediaType(protobuf: Bool) throws {
        let format: any EventFormat = protobuf ? ProtobufEventFormat() : JSONEventFormat()
        let message = try sampleEvent.mqttMessage(topic: "t", mode: .structured, format: format)
        #expect(message.contentType == format.mediaType)
        #expect(message.payload == (try format.encode(sampleEvent)))
        #expect(message.userProperties.isEmpty)
        let formats = EventFormatRegistry.standard.adding(ProtobufEventFormat())
        let decoded = try CloudEvent(mqttMessage: message, formats: formats)
        #expect(differences(sampleEvent, decoded) == [], "\(differences(sampleEvent, decoded))")
    }

    @Test func mqtt311CarriesStructuredJSONWithoutProperties() throws {
        let message = try sampleEvent.mqttMessage(topic: "t", mode: .structured, protocolVersion: .v311)
        #expect(message.contentType == nil)
        #expect(message.userProperties.isEmpty)
        #expect(message.payload == (try JSONEventFormat().encode(sampleEvent)))
        #expect(differences(sampleEvent, try CloudEvent(mqttMessage: message, protocolVersion: .v311)) == [])
    }

    @Test func mqtt311RefusesBinaryModeAndOtherFormats() {
        #expect(throws: MessageError.self) { try sampleEvent.mqttMessage(topic: "t", mode: .binary, protocolVersion: .v311) }
        #expect(throws: MessageError.self) {
            try sampleEvent.mqttMessage(topic: "t", mode: .structured, format: ProtobufEventFormat(), protocolVersion: .v311)
        }
        #expect(throws: MessageError(.batchNotSupported)) { try sampleEvent.mqttMessage(topic: "t", mode: .batch) }
    }

    @Test func aBinaryMessageIsTranscodedToStructuredJSONForMQTT311() throws {
        let message = try Message(sampleEvent, mode: .binary)
        let mqtt = try message.mqttMessage(topic: "t", protocolVersion: .v311)
        #expect(mqtt.contentType == nil)
        #expect(differences(sampleEvent, try JSONEventFormat().decode(mqtt.payload)) == [])
    }

    @Test func aStructuredMessagePassesThroughUntouched() throws {
        let body = Array(#"{"specversion":"1.0","id":"1","source":"/s","type":"t","x":"kept as sent"}"#.utf8)
        let message = Message(
            content: .structured(StructuredContent(mediaType: "application/cloudevents+json; charset=utf-8", body: body)))
        let mqtt = try message.mqttMessage(topic: "t")
        #expect(mqtt.payload == body)
        #expect(mqtt.contentType == "application/cloudevents+json; charset=utf-8")
    }

    // MARK: Reading

    @Test(
        arguments: [
            (nil, ContentMode.binary), ("application/json", .binary), ("text/plain", .binary),
            ("application/cloudevents+json", .structured), ("Application/CloudEvents+JSON; charset=utf-8", .structured),
            (" application/cloudevents+protobuf", .structured), ("application/cloudevents", .structured),
            ("application/cloudevent", .binary)
        ] as [(String?, ContentMode)])
    func modeDetection(contentType: String?, mode: ContentMode) {
        #expect(MQTTMessageReader.detectMode(contentType: contentType) == mode)
    }

    @Test func withoutContentTypeAJSONLookingPayloadIsBinaryData() throws {
        // Edge case 30: MQTT 5 without Content Type is binary, whatever the payload looks like.
        let payload = try JSONEventFormat().encode(sampleEvent)
        let message = MQTTMessage(
            topic: "t", payload: payload,
            userProperties: [
                .init("specversion", "1.0"), .init("id", "x"), .init("source", "/s"), .init("type", "t")
            ])
        let event = try CloudEvent(mqttMessage: message)
        #expect(event.id == "x")
        #expect(event.data?.bodyBytes(contentType: nil) == payload)
    }

    @Test func mqtt311IsAlwaysStructuredJSON() throws {
        let payload = try JSONEventFormat().encode(sampleEvent)
        let reader = MQTTMessageReader(MQTTMessage(topic: "t", payload: payload), protocolVersion: .v311)
        #expect(reader.contentMode == .structured)
        #expect(reader.structuredContent?.mediaType == "application/cloudevents+json")
        #expect(differences(sampleEvent, try reader.event()) == [])
    }

    @Test func foreignUserPropertiesAreMetadataNotExtensions() throws {
        let message = MQTTMessage(
            topic: "sensors/1", payload: Array("21.5".utf8), qos: .atLeastOnce, retain: true, contentType: "text/plain",
            userProperties: [
                .init("specversion", "1.0"), .init("id", "1"), .init("source", "/s"), .init("type", "t"),
                .init("Trace-Id", "abc"), .init("ID", "upper case is not an attribute"), .init("x_app", "1"),
                .init("Trace-Id", "def"), .init("myext", "kept")
            ])
        let reader = MQTTMessageReader(message)
        let event = try reader.event()
        #expect(event.extensions == ["myext": "kept"])
        #expect(event.dataContentType == "text/plain")
        let metadata = reader.message().metadata
        #expect(metadata["Trace-Id"] == "abc, def")
        #expect(metadata["ID"] == "upper case is not an attribute")
        #expect(metadata["x_app"] == "1")
        #expect(metadata[MQTTMessageReader.MetadataKey.topic] == "sensors/1")
        #expect(metadata[MQTTMessageReader.MetadataKey.qos] == "1")
        #expect(metadata[MQTTMessageReader.MetadataKey.retain] == "true")
        #expect(metadata["id"] == nil)
    }

    @Test func aRepeatedAttributeIsADuplicateError() {
        let message = MQTTMessage(
            topic: "t",
            userProperties: [
                .init("specversion", "1.0"), .init("id", "1"), .init("id", "2"), .init("source", "/s"), .init("type", "t")
            ])
        #expect(throws: MessageError(.duplicateAttribute("id"))) { try CloudEvent(mqttMessage: message) }
        #expect(throws: MessageError(.duplicateAttribute("id"))) { try MQTTMessageReader(message).message().event() }
    }

    @Test func aDatacontenttypeUserPropertyMustAgreeWithContentType() throws {
        let required: [MQTTUserProperty] = [
            .init("specversion", "1.0"), .init("id", "1"), .init("source", "/s"), .init("type", "t")
        ]
        // The spec's example: both, agreeing.
        let agreeing = MQTTMessage(
            topic: "t", payload: [1], contentType: "application/octet-stream",
            userProperties: required + [.init("datacontenttype", "application/octet-stream")])
        #expect(try CloudEvent(mqttMessage: agreeing).dataContentType == "application/octet-stream")
        // Only the user property: used.
        let only = MQTTMessage(topic: "t", payload: [1], userProperties: required + [.init("datacontenttype", "text/plain")])
        #expect(try CloudEvent(mqttMessage: only).dataContentType == "text/plain")
        // Contradicting: refused, naming both.
        let contradicting = MQTTMessage(
            topic: "t", payload: [1], contentType: "text/plain",
            userProperties: required + [.init("datacontenttype", "application/json")])
        #expect { try CloudEvent(mqttMessage: contradicting) } throws: { error in
            "\(error)".contains("contradicts")
        }
        #expect(throws: MessageError(.duplicateAttribute("datacontenttype"))) {
            try MQTTMessageReader(contradicting).message().event()
        }
    }

    @Test func invalidMessagesGiveTypedErrors() {
        let noSpecVersion = MQTTMessage(topic: "t", userProperties: [.init("id", "1"), .init("source", "/s"), .init("type", "t")])
        #expect(throws: MessageError(.missingSpecVersion)) { try CloudEvent(mqttMessage: noSpecVersion) }
        let badTime = MQTTMessage(
            topic: "t",
            userProperties: [
                .init("specversion", "1.0"), .init("id", "1"), .init("source", "/s"), .init("type", "t"),
                .init("time", "yesterday")
            ])
        #expect { try CloudEvent(mqttMessage: badTime) } throws: { error in
            (error as? MessageError)?.violations.contains { $0.attribute == "time" } == true
        }
        let avro = MQTTMessage(topic: "t", payload: [0], contentType: "application/cloudevents+avro")
        #expect(throws: MessageError(.unsupportedFormat("application/cloudevents+avro"))) { try CloudEvent(mqttMessage: avro) }
        let batch = MQTTMessage(topic: "t", payload: Array("[]".utf8), contentType: "application/cloudevents-batch+json")
        #expect(throws: MessageError.self) { try CloudEvent(mqttMessage: batch) }
    }

    @Test func theJSONCorpusRoundTripsInBothModes() throws {
        let formats = EventFormatRegistry.standard.adding(ProtobufEventFormat())
        for testCase in Corpus.events {
            for mode in [ContentMode.binary, .structured] {
                let message = try testCase.event.mqttMessage(topic: "t", mode: mode)
                let decoded = try CloudEvent(mqttMessage: message, formats: formats, extensionTypes: Corpus.extensionTypes)
                let equivalence: Equivalence = mode == .binary ? .headers : .exact
                #expect(equivalence.differences(testCase.event, decoded) == [], "\(testCase) in \(mode) mode")
            }
        }
    }

    @Test func endpointOptions() throws {
        let endpoint = try MQTTEndpoint(
            Endpoint("mqtts://u:p%40ss@broker.example:8884/sensors/%23?version=3.1.1&qos=2&retain=true&clientid=me"))
        #expect(endpoint.topic == "sensors/#")
        #expect(endpoint.qos == .exactlyOnce)
        #expect(endpoint.mode == .structured)
        #expect(endpoint.retain)
        #expect(endpoint.configuration.protocolVersion == .v311)
        #expect(endpoint.configuration.clientID == "me")
        #expect(endpoint.configuration.password == "p@ss")
        #expect(endpoint.configuration.tls != nil)
        #expect(endpoint.configuration.effectivePort == 8884)
        let shared = try MQTTEndpoint(Endpoint("mqtt://localhost/$share/group/a/+"))
        #expect(shared.topic == "$share/group/a/+")
        #expect(shared.mode == .binary)
        #expect(shared.configuration.effectivePort == 1883)
        #expect(throws: TransportError.self) { try MQTTEndpoint(Endpoint("mqtt://localhost/t?version=3.1.1&mode=binary")) }
        #expect(throws: TransportError.self) { try MQTTEndpoint(Endpoint("mqtt://localhost/t?qos=3")) }
        #expect(throws: TransportError.self) { try MQTTEndpoint(Endpoint("mqtt://localhost/t?mode=batch")) }
        #expect(throws: TransportError.self) { try MQTTEndpoint(Endpoint("mqtt://localhost/t?bogus=1")) }
        #expect(throws: TransportError.self) { try MQTTEndpoint(Endpoint("mqtt://localhost")) }
    }

    @Test func theDefaultClientIDIsStableAndAcceptableToEveryServer() {
        let id = MQTTClientConfiguration.defaultClientID()
        #expect(id == MQTTClientConfiguration.defaultClientID())
        #expect(id.hasPrefix("ce-"))
        #expect(id.utf8.count <= 23)
        #expect(id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
    }

    @Test func theLibraryVersionDecidesTheAcknowledgementGuarantee() {
        let version = MQTTClient.libraryVersion
        #expect(version.major >= 2)
        #expect(MQTTClient.acknowledgement == (version < .init(major: 2, minor: 1, revision: 0) ? .onReceipt : .afterCallback))
    }
}
