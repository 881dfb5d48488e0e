public import CloudEvents

/// The event every codec benchmark uses (issue #2): id, source, type, specversion, time,
/// subject, datacontenttype `application/json`, one string extension and ~220 bytes of
/// JSON data; about 500 bytes in the JSON format.
public enum SampleEvent {
    public static let data =
        #"{"deviceId":"thermostat-42","reading":{"celsius":21.5,"humidity":48,"battery":0.87},"location":{"building":"north","floor":3,"room":"3.14"},"tags":["hvac","eu-west","calibrated"],"seq":1234567}"#

    public static let event: CloudEvent = {
        do {
            return CloudEvent(
                id: "9b3c6d4e-2f7a-4e1b-8c5d-0a1b2c3d4e5f",
                source: "https://sensors.example.com/buildings/north/floor-3",
                type: "com.example.sensor.reading.v1",
                dataContentType: "application/json",
                subject: "thermostat-42/temperature",
                time: try Timestamp(rfc3339: "2026-11-22T10:15:30.123456789Z"),
                extensions: ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
                data: .json(try RawJSON(validating: data)))
        } catch {
            fatalError("the sample event is invalid: \(error)")
        }
    }()

    public static let json: [UInt8] = {
        do { return try JSONEventFormat().encode(event) } catch { fatalError("\(error)") }
    }()
}
