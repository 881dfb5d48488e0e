internal import CCloudEventsProtobuf

// Short names for the protobuf-c structs generated from cloudevents.proto (see
// Scripts/generate-protobuf). Internal: no C type appears in the public API.

/// `io.cloudevents.v1.CloudEvent`.
typealias CEvent = Io__Cloudevents__V1__CloudEvent
/// `io.cloudevents.v1.CloudEvent.AttributesEntry`: one entry of the `attributes` map.
typealias CAttributeEntry = Io__Cloudevents__V1__CloudEvent__AttributesEntry
/// `io.cloudevents.v1.CloudEvent.CloudEventAttributeValue`.
typealias CAttributeValue = Io__Cloudevents__V1__CloudEvent__CloudEventAttributeValue
/// `io.cloudevents.v1.CloudEventBatch`.
typealias CBatch = Io__Cloudevents__V1__CloudEventBatch
/// `google.protobuf.Timestamp`.
typealias CTimestamp = Google__Protobuf__Timestamp
/// `google.protobuf.Any`.
typealias CAny = Google__Protobuf__Any

/// The range of `google.protobuf.Timestamp`: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
enum ProtobufTimestampRange {
    static func contains(seconds: Int64) -> Bool {
        seconds >= -62_135_596_800 && seconds <= 253_402_300_799
    }
}
