extension CloudEvent {
    /// Sets every attribute of a 1.0 event that a binding's one-pass binary-mode decoder
    /// has read (the HTTP, MQTT and NATS fast paths share it), parsing `time`; `false`
    /// (with `self` left unspecified) when `time` is no RFC 3339 timestamp, for the
    /// decoder to hand the message to its general path, which says why.
    ///
    /// Data and validation stay with the caller: each binding classifies its body and
    /// knows which characters it has already checked.
    package mutating func setBinaryModeAttributes(
        id: String, source: String, type: String, dataContentType: String?, dataSchema: String?, subject: String?,
        time: String?, extensions: ExtensionAttributes
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
}
