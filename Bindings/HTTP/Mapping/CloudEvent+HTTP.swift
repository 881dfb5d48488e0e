public import CloudEvents
public import HTTPTypes

extension CloudEvent {
    /// Decodes the event an HTTP request carries.
    ///
    /// - Parameters:
    ///   - request: the request head.
    ///   - body: the complete body.
    ///   - formats: formats for a structured body.
    ///   - extensionTypes: types for binary-mode extensions, which arrive as strings.
    /// - Throws: ``MessageError`` naming what is wrong (`.isBatch` for a batch).
    public init(
        httpRequest request: HTTPRequest, body: [UInt8],
        formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none
    ) throws(MessageError) {
        // The ordinary binary request in one pass; anything else through the message layer.
        self = .decodingPlaceholder
        if decodeBinaryMode(headerFields: request.headerFields, body: body, extensionTypes: extensionTypes) { return }
        self = try HTTPMessageReader(request: request, body: body, formats: formats)
            .event(formats: formats, extensionTypes: extensionTypes)
    }

    /// Decodes the event an HTTP response carries.
    ///
    /// - Parameters:
    ///   - response: the response head.
    ///   - body: the complete body.
    ///   - formats: formats for a structured body.
    ///   - extensionTypes: types for binary-mode extensions, which arrive as strings.
    /// - Throws: ``MessageError`` naming what is wrong (`.isBatch` for a batch).
    public init(
        httpResponse response: HTTPResponse, body: [UInt8],
        formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none
    ) throws(MessageError) {
        // The ordinary binary response in one pass; anything else through the message layer.
        self = .decodingPlaceholder
        if decodeBinaryMode(headerFields: response.headerFields, body: body, extensionTypes: extensionTypes) { return }
        self = try HTTPMessageReader(response: response, body: body, formats: formats)
            .event(formats: formats, extensionTypes: extensionTypes)
    }

    /// The header fields and body that carry this event in `mode`.
    ///
    /// - Parameters:
    ///   - mode: binary, structured, or batched (a batch of one).
    ///   - format: the format for structured and batched mode.
    /// - Throws: ``MessageError`` when the event is invalid or the format cannot encode it.
    public func httpFields(
        mode: ContentMode = .binary, format: any EventFormat = JSONEventFormat()
    ) throws(MessageError) -> (headerFields: HTTPFields, body: [UInt8]) {
        if mode == .binary { return try binaryModeHTTPFields() }
        return try generalHTTPFields(mode: mode, format: format)
    }

    /// ``httpFields(mode:format:)`` through the message layer: the reference that the
    /// binary-mode fast path must match, and its fallback.
    func generalHTTPFields(mode: ContentMode, format: any EventFormat) throws(MessageError) -> (
        headerFields: HTTPFields, body: [UInt8]
    ) {
        var writer = HTTPMessageWriter()
        try write(to: &writer, mode: mode, format: format)
        return (writer.headerFields, writer.body)
    }

    /// A request that carries this event, and its body.
    ///
    /// - Parameters:
    ///   - method: the method; POST unless told.
    ///   - scheme: `http` or `https`.
    ///   - authority: `host:port`.
    ///   - path: the request target.
    ///   - mode: the content mode.
    ///   - format: the format for structured and batched mode.
    /// - Throws: ``MessageError`` when the event is invalid or the format cannot encode it.
    public func httpRequest(
        method: HTTPRequest.Method = .post, scheme: String? = "http", authority: String?, path: String? = "/",
        mode: ContentMode = .binary, format: any EventFormat = JSONEventFormat()
    ) throws(MessageError) -> (request: HTTPRequest, body: [UInt8]) {
        let (fields, body) = try httpFields(mode: mode, format: format)
        let request = HTTPRequest(method: method, scheme: scheme, authority: authority, path: path, headerFields: fields)
        return (request, body)
    }

    /// A response that carries this event, and its body.
    ///
    /// - Parameters:
    ///   - status: the status; 200 unless told.
    ///   - mode: the content mode.
    ///   - format: the format for structured and batched mode.
    /// - Throws: ``MessageError`` when the event is invalid or the format cannot encode it.
    public func httpResponse(
        status: HTTPResponse.Status = .ok, mode: ContentMode = .binary, format: any EventFormat = JSONEventFormat()
    ) throws(MessageError) -> (response: HTTPResponse, body: [UInt8]) {
        let (fields, body) = try httpFields(mode: mode, format: format)
        return (HTTPResponse(status: status, headerFields: fields), body)
    }
}

extension Message {
    /// The header fields and body that carry this message in its own content mode.
    ///
    /// W3C trace context in ``Message/metadata`` (`traceparent`, `tracestate`, as an HTTP
    /// receiver or an MQTT 5 User Property puts it there) goes out as those headers, so that a
    /// trace crosses a bridge; other metadata is the source protocol's and stays behind.
    ///
    /// - Throws: ``MessageError`` when an attribute cannot be written as a header.
    public func httpFields() throws(MessageError) -> (headerFields: HTTPFields, body: [UInt8]) {
        var writer = HTTPMessageWriter()
        switch content {
        case .binary: try readBinary(into: &writer)
        case .structured(let content): try writer.writeStructured(content)
        case .batch(let content): try writer.writeBatch(content)
        }
        var fields = writer.headerFields
        for name in Self.traceContextFields {
            if let value = metadata[name.canonicalName], fields[name] == nil {
                fields.append(HTTPField(name: name, value: value))
            }
        }
        return (fields, writer.body)
    }

    /// The W3C trace context headers carried over from ``Message/metadata``.
    private static let traceContextFields: [HTTPField.Name] = [HTTPField.Name("traceparent")!, HTTPField.Name("tracestate")!]
}
