import CMosquitto
import CloudEvents

// libmosquitto's callbacks. Global functions, not closures: a C thread calls them, and they
// must not inherit an actor's isolation. Each copies what it needs out of libmosquitto's
// memory (freed when the callback returns) and hands it to the engine. `context` is the
// engine, unretained: the loop thread that runs every callback holds a strong reference for
// as long as it runs.

private func engine(_ context: UnsafeMutableRawPointer?) -> MosquittoEngine {
    Unmanaged<MosquittoEngine>.fromOpaque(context!).takeUnretainedValue()
}

func mosquittoOnConnect(_: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ reason: Int32, _: Int32, _: OpaquePointer?) {
    engine(context).didConnect(reason: reason)
}

func mosquittoOnDisconnect(_: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ rc: Int32, _: OpaquePointer?) {
    engine(context).didDisconnect(rc: rc)
}

func mosquittoOnPublish(_: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ mid: Int32, _ reason: Int32, _: OpaquePointer?)
{
    engine(context).didPublish(mid: mid, reason: reason)
}

func mosquittoOnSubscribe(
    _: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ mid: Int32, _ count: Int32, _ granted: UnsafePointer<Int32>?,
    _: OpaquePointer?
) {
    engine(context).didSubscribe(mid: mid, granted: count > 0 ? granted?.pointee ?? 0x80 : 0x80)
}

func mosquittoOnMessage(
    _: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ message: UnsafePointer<mosquitto_message>?,
    _ properties: OpaquePointer?
) {
    guard let message = message?.pointee, let topic = message.topic else { return }
    let payload =
        message.payloadlen > 0 && message.payload != nil
        ? [UInt8](UnsafeRawBufferPointer(start: message.payload, count: Int(message.payloadlen))) : []
    let received = ReceivedProperties(properties)
    let mqttMessage = MQTTMessage(
        topic: String(cString: topic), payload: payload, qos: MQTTQoS(rawValue: Int(message.qos)) ?? .atMostOnce,
        retain: message.retain, contentType: received.contentType, userProperties: received.userProperties)
    engine(context).didReceive(mqttMessage, subscriptionIdentifiers: received.subscriptionIdentifiers)
}

func mosquittoOnLog(_: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ level: Int32, _ text: UnsafePointer<CChar>?) {
    guard level == MOSQ_LOG_ERR, let text else { return }
    engine(context).didLog(String(cString: text))
}
