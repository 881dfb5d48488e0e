import Foundation
public import NIOCore

/// What the client sends to the server.
///
/// ``write(into:)`` appends the exact wire bytes. Subjects, queue groups and headers are
/// written as given: the client checks them first (``NATSSubject``, ``NATSHeaders/validate()``).
public enum NATSClientCommand: Sendable, Hashable {
    /// `CONNECT {json}`: the first command on a connection, after the server's `INFO`.
    case connect(NATSConnectOptions)
    /// `PUB <subject> [reply] <#bytes>`, or `HPUB <subject> [reply] <#header bytes>
    /// <#total bytes>` when the message has headers, followed by the payload.
    case publish(NATSMessage)
    /// `SUB <subject> [queue group] <sid>`.
    case subscribe(subject: String, queueGroup: String?, subscriptionID: UInt64)
    /// `UNSUB <sid> [max messages]`: ends the subscription now, or after `afterMessages`
    /// messages in all.
    case unsubscribe(subscriptionID: UInt64, afterMessages: Int?)
    /// `PING`: the server answers `PONG`, after everything sent before it.
    case ping
    /// `PONG`: the answer to the server's `PING`.
    case pong

    /// Appends the command's exact wire bytes, CRLF included.
    ///
    /// - Parameter buffer: the buffer to append to.
    public func write(into buffer: inout ByteBuffer) {
        switch self {
        case .connect(let options):
            buffer.writeStaticString("CONNECT ")
            buffer.writeBytes(Self.json(options))
            buffer.writeStaticString("\r\n")
        case .publish(let message):
            Self.writePublish(message, into: &buffer)
        case .subscribe(let subject, let queueGroup, let subscriptionID):
            buffer.writeStaticString("SUB ")
            buffer.writeString(subject)
            if let queueGroup {
                buffer.writeInteger(UInt8(ascii: " "))
                buffer.writeString(queueGroup)
            }
            buffer.writeInteger(UInt8(ascii: " "))
            buffer.writeNATSDecimal(subscriptionID)
            buffer.writeStaticString("\r\n")
        case .unsubscribe(let subscriptionID, let afterMessages):
            buffer.writeStaticString("UNSUB ")
            buffer.writeNATSDecimal(subscriptionID)
            if let afterMessages {
                buffer.writeInteger(UInt8(ascii: " "))
                buffer.writeNATSDecimal(afterMessages)
            }
            buffer.writeStaticString("\r\n")
        case .ping:
            buffer.writeStaticString("PING\r\n")
        case .pong:
            buffer.writeStaticString("PONG\r\n")
        }
    }

    /// `PUB`/`HPUB` counted first, then written with one reservation.
    private static func writePublish(_ message: NATSMessage, into buffer: inout ByteBuffer) {
        let headerCount = message.headers?.encodedByteCount ?? 0
        let total = headerCount + message.payload.count
        var count = message.subject.utf8.count + 2 + natsDecimalDigitCount(total) + 2 + total + 2
        count += message.replyTo.map { $0.utf8.count + 1 } ?? 0
        count += message.headers == nil ? 3 : 4 + natsDecimalDigitCount(headerCount) + 1
        NATSWireWriter.append(to: &buffer, count: count) { writer in
            writer.write(message.headers == nil ? "PUB " : "HPUB ")
            writer.write(message.subject)
            if let replyTo = message.replyTo {
                writer.write(UInt8(ascii: " "))
                writer.write(replyTo)
            }
            writer.write(UInt8(ascii: " "))
            if message.headers != nil {
                writer.writeDecimal(headerCount)
                writer.write(UInt8(ascii: " "))
            }
            writer.writeDecimal(total)
            writer.write("\r\n")
            message.headers?.write(to: &writer)
            writer.write(message.payload)
            writer.write("\r\n")
        }
    }

    /// `CONNECT`'s JSON: keys sorted so the bytes are the same on every run and platform.
    private static func json(_ options: NATSConnectOptions) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding strings, booleans and integers cannot fail; `{}` keeps the command well formed if it ever did.
        return (try? encoder.encode(options)) ?? Data("{}".utf8)
    }
}
