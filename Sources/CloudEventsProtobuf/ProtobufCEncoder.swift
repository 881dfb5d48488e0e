internal import CCloudEventsProtobuf
package import CloudEvents

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The protobuf-c encoder: validates events, builds the protobuf-c structs for them with a
/// ``BumpAllocator`` and packs them with `protobuf_c_message_pack` straight into the output
/// array.
///
/// No longer the format's encoder (``ProtobufEncoder`` writes the same bytes itself, without
/// building structs); kept, package-visible, as the oracle the tests compare it with, byte for
/// byte, on the conformance corpus and on generated events.
///
/// Memory: every struct, string and byte buffer comes from the bump allocator (on the stack
/// for a typical event) and is released when the call returns or throws; nothing outlives
/// the call. protobuf-c only reads the structs while packing.
///
/// Cost: packing is most of the work, so nothing is done twice around it.
/// - Validation runs without the String type's character checks, which the copy of each
///   string into the arena makes instead with a printable-ASCII scan; only an event with
///   another character in such a string is validated again in full.
/// - The output is sized with an upper bound counted while building (as the JSON encoder
///   does) instead of `get_packed_size`, a whole pass over the message that
///   `protobuf_c_message_pack` does not need: it writes into a buffer it assumes is large
///   enough, and returns the count.
package struct ProtobufCEncoder {
    var jsonDataField: ProtobufEventFormat.JSONDataField

    package init(jsonDataField: ProtobufEventFormat.JSONDataField) {
        self.jsonDataField = jsonDataField
    }

    /// Appends the `CloudEvent` message packed by protobuf-c.
    package func append(_ event: borrowing CloudEvent, to output: inout [UInt8]) throws(EventFormatError) {
        try Self.validateExceptCharacters(event)
        try StructBuilder.withBuilder(jsonDataField: jsonDataField) { builder throws(EventFormatError) in
            let message: UnsafeMutablePointer<CEvent>
            do throws(EventFormatError) {
                message = try builder.event(event)
            } catch {
                // A broken rule is reported before what only Protobuf cannot carry.
                try Self.validate(event)
                throw error
            }
            if builder.needsCharacterCheck { try Self.validate(event) }
            Self.appendPacked(maximumCount: builder.sizeBound, to: &output) {
                io__cloudevents__v1__cloud_event__pack(message, $0)
            }
        }
    }

    /// The batch is validated event by event in full first, so that the first invalid
    /// event is the one named (batches are not the hot path).
    package func appendBatch(_ events: [CloudEvent], to output: inout [UInt8]) throws(EventFormatError) {
        try events.withUnsafeBufferPointer { events throws(EventFormatError) in
            for index in events.indices {
                do throws(EventFormatError) {
                    try Self.validate(events[index])
                } catch var error {
                    error.batchIndex = index
                    throw error
                }
            }
            try StructBuilder.withBuilder(jsonDataField: jsonDataField) { builder throws(EventFormatError) in
                let batch = builder.allocate(CBatch.self)
                io__cloudevents__v1__cloud_event_batch__init(batch)
                if !events.isEmpty {
                    let pointers = builder.allocate(UnsafeMutablePointer<CEvent>?.self, count: events.count)
                    for index in events.indices {
                        builder.sizeBound += StructBuilder.fieldOverhead  // the `events` field's tag and length
                        do throws(EventFormatError) {
                            pointers[index] = try builder.event(events[index])
                        } catch var error {
                            error.batchIndex = index
                            throw error
                        }
                    }
                    batch.pointee.n_events = events.count
                    batch.pointee.events = pointers
                }
                Self.appendPacked(maximumCount: builder.sizeBound, to: &output) {
                    io__cloudevents__v1__cloud_event_batch__pack(batch, $0)
                }
            }
        }
    }

    // MARK: Validation

    /// Every rule but the String type's characters, which ``StructBuilder`` checks (see
    /// ``StructBuilder/needsCharacterCheck``).
    ///
    /// - Throws: `EventFormatError.Reason.invalidEvent(_:)` listing every violation, the
    ///   characters included.
    private static func validateExceptCharacters(_ event: borrowing CloudEvent) throws(EventFormatError) {
        do {
            try event.validate(checkingCharacters: false, addingTo: [])
        } catch {
            // Report every violation, as validate() does.
            try validate(event)
            throw EventFormatError(.invalidEvent(error))
        }
    }

    /// Every rule.
    private static func validate(_ event: borrowing CloudEvent) throws(EventFormatError) {
        do { try event.validate() } catch { throw EventFormatError(.invalidEvent(error)) }
    }

    // MARK: Output

    /// Appends what `pack` writes (at most `maximumCount` bytes; it returns the count) to
    /// `output`, without an intermediate buffer.
    private static func appendPacked(
        maximumCount: Int, to output: inout [UInt8], _ pack: (UnsafeMutablePointer<UInt8>) -> Int
    ) {
        if output.isEmpty && output.capacity < maximumCount {
            // A new array: packed into uninitialised capacity, no zero-filling or trimming.
            output = [UInt8](unsafeUninitializedCapacity: maximumCount) { buffer, initialized in
                let written = pack(buffer.baseAddress!)
                precondition(written <= maximumCount, "protobuf-c packed \(written) bytes, more than the bound \(maximumCount)")
                initialized = written
            }
            return
        }
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: maximumCount))
        let written = output.withUnsafeMutableBufferPointer { buffer in
            pack(buffer.baseAddress! + start)
        }
        precondition(written <= maximumCount, "protobuf-c packed \(written) bytes, more than the bound \(maximumCount)")
        output.removeLast(maximumCount - written)
    }
}
