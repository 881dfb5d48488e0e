extension CloudEvent {
    /// Sets every attribute of a 1.0 event that a binding's one-pass binary-mode decoder
    /// has read (the HTTP, MQTT and NATS fast paths share it), parsing `time`; `false`
    /// (with `self` left unspecified) when `time` is no RFC 3339 timestamp, for the
    /// decoder to hand the message to its general path, which says why.
    ///
    /// Data and validation stay with the caller: each binding classifies its body and
    /// knows which characters it has already checked.
    ///
    /// The values are taken owned: each moves into the event rather than being retained
    /// for it and released by the caller.
    package mutating func setBinaryModeAttributes(
        id: consuming String, source: consuming String, type: consuming String, dataContentType: consuming String?,
        dataSchema: consuming String?, subject: consuming String?, time: String?,
        extensions: consuming ExtensionAttributes
    ) -> Bool {
        if let time {
            guard let timestamp = try? Timestamp(rfc3339: time) else { return false }
            self.time = timestamp
        } else {
            self.time = nil
        }
        specVersion = .v1_0
        self.id = id
        self.source = source
        self.type = type
        self.dataContentType = dataContentType
        self.dataSchema = dataSchema
        self.subject = subject
        self.extensions = extensions
        return true
    }

    /// The event a binding's one-pass decoder starts from and fills in with
    /// ``setBinaryModeAttributes(id:source:type:dataContentType:dataSchema:subject:time:extensions:)``:
    /// built once, so that starting costs a copy of empty values, not a call to the
    /// initialiser with its copies of every parameter.
    package static let decodingPlaceholder = CloudEvent(id: "", source: "", type: "")
}
