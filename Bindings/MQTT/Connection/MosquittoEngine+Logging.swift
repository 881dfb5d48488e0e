import CMosquitto
import CloudEvents
import CloudEventsLoopDriver
import Logging

#if canImport(Glibc)
    import Glibc
#endif

// What the engine logs, with snake_case metadata and never the password.
extension MosquittoEngine {
    func metadata(_ extra: Logger.Metadata = [:]) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "endpoint": "\(configuration.host):\(configuration.effectivePort)", "client_id": "\(configuration.clientID)"
        ]
        metadata.merge(extra) { _, new in new }
        return metadata
    }

    func logRefusedPublish(topic: String, _ error: TransportError) {
        logger.warning(
            "MQTT publish refused",
            metadata: metadata(["topic": "\(topic)", "reason": "\(error.message)", "status": "\(error.code)"]))
    }

    func log(_ event: Machine.LogEvent) {
        switch event {
        case .connected:
            logger.info(
                "MQTT connection established",
                metadata: metadata(["protocol_version": "\(configuration.protocolVersion)", "tls": "\(configuration.tls != nil)"])
            )
        case .connectionLost(let rc):
            logger.warning("MQTT connection lost", metadata: metadata(["reason": "\(Mosquitto.describe(rc))"]))
        case .reconnectScheduled(let attempt, let delay):
            logger.warning(
                "MQTT reconnect scheduled", metadata: metadata(["attempt": "\(attempt)", "delay_ms": "\(delay.milliseconds)"]))
        case .reconnected(let count):
            logger.notice("MQTT reconnected", metadata: metadata(["connection_count": "\(count)"]))
        case .connectionRefused(let error):
            logger.warning("MQTT broker refused the connection", metadata: metadata(["reason": "\(error.message)"]))
        case .reconnectFailed(let error):
            logger.warning("MQTT reconnect failed", metadata: metadata(["reason": "\(error.message)"]))
        case .publishesDropped(let count):
            logger.error(
                "MQTT QoS 0 publishes dropped with the connection", metadata: metadata(["count": "\(count)"]))
        }
    }
}
