import HTTPTypes
import NIOHTTP1
import NIOHTTPTypesHTTP1
import Testing

@testable import CloudEventsHTTP

/// The receiver's own HTTP/1 request conversion gives what NIOHTTPTypesHTTP1's does.
@Suite("HTTP/1 request conversion")
struct HTTP1ServerAdapterTests {
    static let heads: [HTTPRequestHead] = [
        head(.POST, "/", [("Host", "127.0.0.1:8080"), ("ce-id", "1"), ("Content-Type", "application/json")]),
        head(.POST, "/events?tenant=a%20b", [("ce-id", "1"), ("host", "example.com"), ("HOST", "second.example.com")]),
        head(.OPTIONS, "/hooks", [("WebHook-Request-Origin", "sender.example.com"), ("Cookie", "a=1; b=2")]),
        head(.POST, "/", [("Hosts", "not the host"), ("ce-type", "t")]),
        head(.POST, "/", [("bad name", "dropped"), ("ce-source", "/s")]),
        head(.POST, "http://example.com/absolute?x=1", [("Host", "example.com")]),
        head(.RAW(value: "PATCH"), "/", []),
        head(.POST, "/", [("Host", "")])
    ]

    @Test(arguments: heads, [false, true])
    func matchesTheCodecsConversion(head: HTTPRequestHead, secure: Bool) throws {
        let ours = try HTTP1ServerAdapter.request(head, secure: secure)
        let codecs = try HTTPRequest(head, secure: secure, splitCookie: false)
        #expect(ours == codecs)
        #expect(Array(ours.headerFields) == Array(codecs.headerFields))
    }

    @Test func anInvalidMethodIsAnError() {
        #expect(throws: (any Error).self) {
            try HTTP1ServerAdapter.request(Self.head(.RAW(value: "BAD METHOD"), "/", []), secure: false)
        }
    }

    static func head(_ method: HTTPMethod, _ uri: String, _ fields: [(String, String)]) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(fields))
    }
}
