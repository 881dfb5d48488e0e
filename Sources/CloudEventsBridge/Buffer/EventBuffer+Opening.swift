public import Logging

/// Opens the buffer a route's configuration asks for: a ``SQLiteEventBuffer`` in
/// `<directory>/<route>.sqlite` for ``BufferConfiguration/Storage/durable(directory:)``, a
/// ``MemoryEventBuffer`` for ``BufferConfiguration/Storage/memory``.
///
/// - Parameters:
///   - route: the route's name (letters, digits, `-`, `_`), which names the durable file.
///   - configuration: the route's buffer configuration.
///   - logger: where the durable buffer logs its opening and background sync failures.
/// - Returns: the open buffer, holding what a previous run of the route left when durable.
/// - Throws: ``BufferError`` when the durable buffer cannot be opened (see
///   ``SQLiteEventBuffer/init(directory:route:maximumBytes:sync:logger:)``), for instance
///   because another bridge has the same route's file open.
public func makeEventBuffer(route: String, configuration: BufferConfiguration, logger: Logger) throws(BufferError)
    -> any EventBuffer
{
    switch configuration.storage {
    case .durable(let directory):
        try SQLiteEventBuffer(
            directory: directory, route: route, maximumBytes: configuration.maximumBytes, sync: configuration.sync,
            logger: logger)
    case .memory:
        MemoryEventBuffer(maximumBytes: configuration.maximumBytes)
    }
}
