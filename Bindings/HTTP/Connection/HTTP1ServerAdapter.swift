internal import HTTPTypes
internal import NIOCore
internal import NIOHTTP1
internal import NIOHTTPTypes
internal import NIOHTTPTypesHTTP1

/// Turns SwiftNIO's HTTP/1 request parts into swift-http-types' for ``ReceiverRequestHandler``,
/// and its responses back, as NIOHTTPTypesHTTP1's `HTTP1ToHTTPServerCodec` does, with the same
/// result, minus two costs that a receiver pays on every request with it: Foundation's URL
/// parser run on the request target (`/events` needs none), and a lowercased copy of every
/// header name in front of `Host`.
final class HTTP1ServerAdapter: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let secure: Bool
    /// The last response head written and its conversion: a receiver answers almost every
    /// request alike (202, `content-length: 0`), and comparing costs less than converting.
    private var lastResponse: (response: HTTPResponse, head: HTTPResponseHead)?

    init(secure: Bool) {
        self.secure = secure
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            do {
                context.fireChannelRead(wrapInboundOut(.head(try Self.request(head, secure: secure))))
            } catch {
                context.fireErrorCaught(error)
            }
        case .body(let body):
            context.fireChannelRead(wrapInboundOut(.body(body)))
        case .end(let trailers):
            context.fireChannelRead(wrapInboundOut(.end(trailers.map { HTTPFields($0, splitCookie: false) })))
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            let head: HTTPResponseHead
            if let lastResponse, lastResponse.response == response {
                head = lastResponse.head
            } else {
                head = HTTPResponseHead(response)
                lastResponse = (response, head)
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body(let body):
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: promise)
        case .end(let trailers):
            context.write(wrapOutboundOut(.end(trailers.map(HTTPHeaders.init))), promise: promise)
        }
    }

    /// `head` as an `HTTPRequest`: the first `Host` header is the authority, the others are
    /// its header fields (fields whose names are not tokens are dropped, as the codec does).
    static func request(_ head: HTTPRequestHead, secure: Bool) throws -> HTTPRequest {
        // An origin-form target ("/path?query") is the path as it is. Any other form goes
        // through the codec's conversion, which parses it as a URL.
        guard head.uri.utf8.first == UInt8(ascii: "/") else {
            return try HTTPRequest(head, secure: secure, splitCookie: false)
        }
        guard let method = HTTPRequest.Method(head.method.rawValue) else {
            throw HTTP1TypeConversionError.invalidMethod
        }
        var fields = HTTPFields()
        fields.reserveCapacity(head.headers.count)
        var authority: String?
        for (name, value) in head.headers {
            if authority == nil, isHost(name) {
                authority = value
            } else if let name = HTTPField.Name(name) {
                fields.append(HTTPField(name: name, value: value))
            }
        }
        return HTTPRequest(
            method: method, scheme: secure ? "https" : "http", authority: authority, path: head.uri, headerFields: fields)
    }

    /// Whether `name` is `Host`, in any case, without making a lowercased copy.
    private static func isHost(_ name: String) -> Bool {
        // Setting bit 0x20 lowercases a letter; no other byte becomes one of "host"'s letters.
        name.utf8.count == 4 && name.utf8.elementsEqual("host".utf8) { $0 | 0x20 == $1 }
    }
}
