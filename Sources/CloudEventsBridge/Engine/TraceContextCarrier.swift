import Tracing

/// Reads and writes W3C trace context in ``CloudEvents/Message/metadata``, for the configured
/// instrument (swift-distributed-tracing): the bridge's delivery span continues the trace the
/// source carried, and the sink's request carries the span's context.
struct MetadataExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

/// Writes trace context into message metadata (see ``MetadataExtractor``).
struct MetadataInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}
