public import CloudEvents
public import CloudEventsTransports
public import Logging

/// Pushes every corpus event through every format × binding × content mode a
/// ``BindingRegistry`` offers, over real clients, servers and brokers, and compares what
/// arrives with what was sent by the spec's equivalence.
///
/// For each ``ConformanceTarget`` the runner asks the target's binding which content modes
/// and formats its endpoint carries (``EventBinding/contentModes(for:)``,
/// ``EventBinding/formatNames(for:)``): binary once, structured and batch once per format.
/// Each cell opens one receiver (``BindingRegistry/withReceiver(for:options:_:)``) and one
/// sender to the receiver's bound endpoint with `mode=` and `format=`, sends the events one
/// at a time, and waits for each (a bounded time per event). The receiving side decodes
/// each delivery with ``extensionTypes``, accepts it (rejects it, with the error, when it
/// does not decode), and the sending side compares.
///
/// An event passes when it is equivalent under the spec's rules (``specEquivalence``).
/// Where a cell needed one of the lossy rules (timestamps by instant, extension values as
/// strings, data by bytes, an implied JSON content type) or the extension types to get the
/// types back, the cell says so in a ``ConformanceNote``; nothing lossy is hidden.
public struct ConformanceRunner: Sendable {
    /// The bindings to look targets up in.
    public var registry: BindingRegistry
    /// The formats: the columns of the matrix, and what receivers decode with.
    public var formats: EventFormatRegistry
    /// The events to send.
    public var cases: [Corpus.Case]
    /// The types of every case's extensions, which receivers decode with to settle a
    /// delivery before they know its case (each comparison then decodes again with the
    /// case's own ``Corpus/Case/extensionTypes``).
    public var extensionTypes: ExtensionTypes
    /// How long one event may take: its send, and its arrival after the send returned.
    public var timeout: Duration
    /// Where the runner logs each cell (`.info`) and each failure (`.warning`).
    public var logger: Logger

    /// What the spec lets a binding or format change: timestamps compared by instant,
    /// extension values by canonical string, data by bytes, and `application/json` implied
    /// for JSON data without a content type.
    public static let specEquivalence = Equivalence(
        timestampsByInstant: true, extensionsByCanonicalString: true, dataByBytes: true, impliedJSONContentType: true)

    /// A runner over `registry`.
    ///
    /// - Parameters:
    ///   - registry: the bindings the targets' endpoints are looked up in.
    ///   - formats: the formats to test (JSON and Protobuf in `ce`).
    ///   - cases: the events; the whole valid corpus by default.
    ///   - extensionTypes: the extension types of every case; the corpus's by default.
    ///   - timeout: the time one event may take; 30 s by default (a bound on a wait that ends
    ///     as soon as the event arrives, generous for loaded machines).
    ///   - logger: where to log; a no-op by default.
    public init(
        registry: BindingRegistry, formats: EventFormatRegistry, cases: [Corpus.Case] = Corpus.events,
        extensionTypes: ExtensionTypes = Corpus.extensionTypes, timeout: Duration = .seconds(30),
        logger: Logger = Logger(label: "cloudevents.conformance", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.registry = registry
        self.formats = formats
        self.cases = cases
        self.extensionTypes = extensionTypes
        self.timeout = timeout
        self.logger = logger
    }

    /// Runs every cell of `targets`, then (with `crossFormat`) the cross-format row.
    ///
    /// - Parameters:
    ///   - targets: the bindings' rows.
    ///   - formatNames: the format columns to run (all of ``formats`` when `nil`); binary
    ///     rows run whatever the formats.
    ///   - crossFormat: whether to add the row that takes every event from the first format
    ///     through each other format and back.
    ///   - notRun: rows the caller left out, and why, to show in the matrix.
    /// - Returns: the matrix. A target whose endpoint no binding serves, or whose receiver
    ///   or sender cannot be opened, gets failing cells naming the error: the run itself does
    ///   not throw.
    public func run(
        targets: [ConformanceTarget], formatNames: [String]? = nil, crossFormat: Bool = true, notRun: [String] = []
    ) async -> ConformanceMatrix {
        let started = ContinuousClock.now
        let columns = formats.formats.map(\.name).filter { formatNames?.contains($0) ?? true }
        let run = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        var cells: [ConformanceCell] = []
        for target in targets {
            cells += await runTarget(target, columns: columns, run: run)
        }
        if crossFormat { cells += crossFormatCells(columns: columns) }
        let noWire = targets.filter { $0.wireProbe == nil }.map {
            "\($0.name) wire-shape rows: no native wire (nothing leaves the process to read raw)"
        }
        let elapsed = ContinuousClock.now - started
        return ConformanceMatrix(formats: columns, cells: cells, notRun: notRun + noWire, seconds: elapsed.seconds)
    }

    // MARK: Cells

    /// One cell to run: a mode and, for structured and batch, a format.
    private struct CellPlan {
        var mode: ContentMode
        var format: (any EventFormat)?
    }

    private func runTarget(_ target: ConformanceTarget, columns: [String], run: String) async -> [ConformanceCell] {
        let probe: Endpoint
        let binding: any EventBinding
        do {
            probe = try target.receiverEndpoint(cell: "probe", formats: formats)
            binding = try registry.binding(for: probe)
        } catch {
            return [failedCell(target: target, mode: "binary", format: nil, reason: "\(error)")]
        }
        let carried = binding.formatNames(for: probe)
        var plans: [CellPlan] = []
        for mode in binding.contentModes(for: probe) {
            if mode == .binary {
                plans.append(CellPlan(mode: mode, format: nil))
                continue
            }
            for name in columns where carried?.contains(name) ?? true {
                guard let format = formats.format(named: name) else { continue }
                if mode == .batch && format.batchMediaType == nil { continue }
                plans.append(CellPlan(mode: mode, format: format))
            }
        }
        var cells: [ConformanceCell] = []
        for plan in plans {
            let cell = await runCell(target: target, plan: plan, run: run)
            logger.info(
                "conformance cell done",
                metadata: [
                    "binding": "\(cell.binding)", "mode": "\(cell.mode)", "format": "\(cell.format ?? "none")",
                    "passed": "\(cell.passed)", "total": "\(cell.total)"
                ])
            cells.append(cell)
        }
        if let wireProbe = target.wireProbe {
            for plan in plans {
                let cell = await runWireCell(target: target, probe: wireProbe, plan: plan, run: run)
                logger.info(
                    "conformance wire-shape cell done",
                    metadata: [
                        "binding": "\(cell.binding)", "mode": "\(cell.mode)", "format": "\(cell.format ?? "none")",
                        "passed": "\(cell.passed)", "total": "\(cell.total)"
                    ])
                cells.append(cell)
            }
        }
        return cells
    }

    /// The mode of a wire-shape row: `binary (wire)`.
    ///
    /// - Parameter mode: the content mode.
    public static func wireMode(_ mode: ContentMode) -> String { "\(mode.rawValue) (wire)" }

    /// Sends every case through the binding's sender to the target's raw peer and checks
    /// each captured native message against the binding's wire-shape rules
    /// (``WireShape/violations(of:event:mode:format:)``), never through the binding's decoder.
    private func runWireCell(target: ConformanceTarget, probe: WireProbe, plan: CellPlan, run: String) async
        -> ConformanceCell
    {
        let mode = Self.wireMode(plan.mode)
        let formatName = plan.format?.name
        let options = options
        do {
            let cellEndpoint = try target.receiverEndpoint(
                cell: "wire-\(plan.mode.rawValue)-\(formatName ?? "none")-\(run)", formats: formats)
            return try await probe.withPeer(cellEndpoint: cellEndpoint, formats: formats, timeout: timeout) {
                endpoint, next in
                var senderEndpoint = endpoint
                senderEndpoint.setOption("mode", plan.mode.rawValue)
                if let formatName { senderEndpoint.setOption("format", formatName) }
                return try await registry.withSender(for: senderEndpoint, options: options) { sender in
                    await tally(
                        through: sender, target: target, mode: mode, format: formatName, awaiting: next,
                        id: WireShape.eventID(of:), nothingArrived: "the \(probe) captured nothing within \(timeout) of the send"
                    ) { testCase, message in
                        let violations = WireShape.violations(
                            of: message, event: testCase.event, mode: plan.mode, format: plan.format)
                        return violations.isEmpty ? nil : violations.map(\.description).joined(separator: "; ")
                    }
                }
            }
        } catch {
            return failedCell(target: target, mode: mode, format: formatName, reason: "\(error)")
        }
    }

    private func failedCell(target: ConformanceTarget, mode: String, format: String?, reason: String) -> ConformanceCell {
        logger.warning(
            "conformance cell could not run",
            metadata: ["binding": "\(target.name)", "mode": "\(mode)", "reason": "\(reason)"])
        return ConformanceCell(
            binding: target.name, mode: mode, format: format, passed: 0, total: cases.count,
            failures: cases.map {
                ConformanceFailure(event: $0.name, binding: target.name, mode: mode, format: format, difference: reason)
            })
    }

    /// The options every cell opens its receiver and sender with: no retries (a retry would
    /// deliver an event twice), the per-event timeout.
    private var options: BindingOptions {
        BindingOptions(formats: formats, timeout: timeout, retries: 0, logger: logger)
    }

    private func runCell(target: ConformanceTarget, plan: CellPlan, run: String) async -> ConformanceCell {
        let mode = plan.mode.rawValue
        let formatName = plan.format?.name
        var receiverEndpoint: Endpoint
        do {
            receiverEndpoint = try target.receiverEndpoint(cell: "\(mode)-\(formatName ?? "none")-\(run)", formats: formats)
        } catch {
            return failedCell(target: target, mode: mode, format: formatName, reason: "\(error)")
        }
        receiverEndpoint.setOption("mode", mode)
        if let formatName { receiverEndpoint.setOption("format", formatName) }
        let inbox = ConformanceInbox<ConformanceReceipt>()
        let extensionTypes = extensionTypes
        let options = options
        do {
            return try await registry.withReceiver(for: receiverEndpoint, options: options) { receiver in
                try await withThrowingTaskGroup(of: Void.self, returning: ConformanceCell.self) { group in
                    group.addTask {
                        defer { inbox.finish() }
                        for try await delivery in receiver.deliveries() {
                            let receipt = Self.receipt(of: delivery, extensionTypes: extensionTypes)
                            inbox.post(receipt)
                            switch receipt.decoded {
                            case .success: delivery.accept()
                            case .failure(let error): delivery.reject(reason: "\(error)")
                            }
                        }
                    }
                    defer { group.cancelAll() }
                    // A peer-mode receiver's `listen=true` is its own option: the sender
                    // connects to where it listens.
                    var senderEndpoint = receiver.endpoint
                    if senderEndpoint.option("listen") != nil {
                        senderEndpoint.options.removeAll { $0.name == "listen" }
                        senderEndpoint = try Endpoint(senderEndpoint.url(maskingPassword: false), formats: formats)
                    }
                    senderEndpoint.setOption("mode", mode)
                    if let formatName { senderEndpoint.setOption("format", formatName) }
                    return try await registry.withSender(for: senderEndpoint, options: options) { sender in
                        await sendAll(through: sender, inbox: inbox, target: target, mode: mode, format: formatName)
                    }
                }
            }
        } catch {
            return failedCell(target: target, mode: mode, format: formatName, reason: "\(error)")
        }
    }

    /// Decodes a delivery as the receiving application would, with the extension types of
    /// every case (the receiver cannot know the case before decoding).
    private static func receipt(of delivery: Delivery, extensionTypes: ExtensionTypes) -> ConformanceReceipt {
        let decoded: Result<[CloudEvent], MessageError>
        do { decoded = .success(try delivery.events(extensionTypes: extensionTypes)) } catch { decoded = .failure(error) }
        return ConformanceReceipt(delivery: delivery, decoded: decoded)
    }

    /// Sends each case, waits for its receipt, and compares.
    private func sendAll(
        through sender: any BoundSender, inbox: ConformanceInbox<ConformanceReceipt>, target: ConformanceTarget, mode: String,
        format: String?
    ) async -> ConformanceCell {
        var notes = NoteCollector()
        var cell = await tally(
            through: sender, target: target, mode: mode, format: format, awaiting: { await inbox.next(before: $0) },
            id: \.firstID, nothingArrived: "no delivery within \(timeout) of the send"
        ) { testCase, receipt in
            compare(testCase, receipt, notes: &notes)
        }
        cell.notes = notes.notes
        return cell
    }

    /// Sends every case through `sender`, waits for what arrives for it, and judges it: the
    /// loop both kinds of cell share (a round trip judges the decoded delivery, a wire-shape
    /// cell the raw native message).
    ///
    /// - Parameters:
    ///   - next: what arrived next, or `nil` when nothing did before the deadline.
    ///   - id: the event id an arrival carries, to tell a late arrival of an event that timed
    ///     out earlier from this event's.
    ///   - nothingArrived: the failure when nothing arrived after a successful send.
    ///   - judge: why an arrival is not right for its case, or `nil` when it is.
    private func tally<Arrival>(
        through sender: any BoundSender, target: ConformanceTarget, mode: String, format: String?,
        awaiting next: (ContinuousClock.Instant) async -> Arrival?, id: (Arrival) -> String?, nothingArrived: String,
        judge: (Corpus.Case, Arrival) -> String?
    ) async -> ConformanceCell {
        var cell = ConformanceCell(binding: target.name, mode: mode, format: format, passed: 0, total: cases.count)
        var timedOutIDs: Set<String> = []
        for testCase in cases {
            var sendError: (any Error)?
            do { _ = try await sender.send(testCase.event) } catch { sendError = error }
            // After a failed send, something arrives only if the receiver refused the message.
            let deadline = ContinuousClock.now + (sendError == nil ? timeout : .seconds(1))
            var arrival: Arrival?
            while let candidate = await next(deadline) {
                // An arrival whose event timed out earlier is late, not this event's.
                if let late = id(candidate), late != testCase.event.id, timedOutIDs.contains(late) { continue }
                arrival = candidate
                break
            }
            let problem: String?
            switch (arrival, sendError) {
            case (nil, let error?):
                problem = "the send failed: \(error)"
            case (nil, nil):
                timedOutIDs.insert(testCase.event.id)
                problem = nothingArrived
            case (let arrival?, _):
                problem = judge(testCase, arrival)
            }
            if let problem {
                logger.warning(
                    "conformance event failed",
                    metadata: [
                        "binding": "\(target.name)", "mode": "\(mode)", "format": "\(format ?? "none")",
                        "event": "\(testCase.name)", "reason": "\(problem)"
                    ])
                cell.failures.append(
                    ConformanceFailure(
                        event: testCase.name, binding: target.name, mode: mode, format: format, difference: problem))
            } else {
                cell.passed += 1
            }
        }
        return cell
    }

    /// Why `receipt` is not `testCase`'s event, or `nil` when it is equivalent (recording
    /// the lossy rules it relied on in `notes`). The delivery is decoded again with the
    /// case's own extension types, and without any to see whether the types travelled.
    private func compare(_ testCase: Corpus.Case, _ receipt: ConformanceReceipt, notes: inout NoteCollector) -> String? {
        if case .failure(let error) = receipt.decoded {
            return "the receiver could not decode the message: \(error)"
        }
        guard let delivery = receipt.delivery else { return "no delivery" }
        let typed: [CloudEvent]
        do { typed = try delivery.events(extensionTypes: testCase.extensionTypes) } catch {
            return "the message does not decode with the case's extension types: \(error)"
        }
        let untyped = try? delivery.events(extensionTypes: ExtensionTypes.none)
        return compare(testCase, typed: typed, untyped: untyped, notes: &notes)
    }

    /// Why `typed` is not `testCase`'s event, or `nil` when it is equivalent.
    private func compare(
        _ testCase: Corpus.Case, typed events: [CloudEvent], untyped: [CloudEvent]?, notes: inout NoteCollector
    ) -> String? {
        guard events.count == 1 else { return "expected 1 event, the message carried \(events.count)" }
        let differences = Self.specEquivalence.differences(testCase.event, events[0])
        guard differences.isEmpty else { return differences.joined(separator: "; ") }
        notes.record(testCase.name, expected: testCase.event, actual: events[0], untyped: untyped?.first)
        return nil
    }

    // MARK: Cross-format

    /// The row that takes each event from the first format through each other format and
    /// back (`json → protobuf → json`), in-process.
    private func crossFormatCells(columns: [String]) -> [ConformanceCell] {
        guard let first = columns.first.flatMap({ formats.format(named: $0) }) else { return [] }
        var cells: [ConformanceCell] = []
        for name in columns.dropFirst() {
            guard let other = formats.format(named: name) else { continue }
            let path = "\(first.name) → \(other.name) → \(first.name)"
            var cell = ConformanceCell(binding: "formats", mode: path, format: other.name, passed: 0, total: cases.count)
            var notes = NoteCollector()
            for testCase in cases {
                let problem: String?
                do {
                    var event = try decode(try first.encode(testCase.event), with: first, types: .none)
                    event = try decode(try other.encode(event), with: other, types: .none)
                    let bytes = try first.encode(event)
                    let typed = try decode(bytes, with: first, types: testCase.extensionTypes)
                    let untyped = try? decode(bytes, with: first, types: .none)
                    problem = compare(testCase, typed: [typed], untyped: untyped.map { [$0] }, notes: &notes)
                } catch {
                    problem = "\(error)"
                }
                if let problem {
                    cell.failures.append(
                        ConformanceFailure(
                            event: testCase.name, binding: "formats", mode: path, format: other.name, difference: problem))
                } else {
                    cell.passed += 1
                }
            }
            cell.notes = notes.notes
            cells.append(cell)
        }
        return cells
    }

    /// `bytes` decoded as a structured message of `format`, with `types` applied.
    private func decode(_ bytes: [UInt8], with format: any EventFormat, types: ExtensionTypes) throws -> CloudEvent {
        let message = Message(content: .structured(StructuredContent(mediaType: format.mediaType, body: bytes)))
        return try message.event(formats: formats, extensionTypes: types)
    }
}

/// The lossy rules one cell relied on, by rule, with the events that needed each.
struct NoteCollector {
    private(set) var notes: [ConformanceNote] = []

    /// The rules of ``ConformanceRunner/specEquivalence`` one by one, with their sentence.
    private static var rules: [(WritableKeyPath<Equivalence, Bool>, String)] {
        [
            (\.timestampsByInstant, "timestamps compared by instant: the UTC offset is not carried"),
            (\.extensionsByCanonicalString, "extension values compared as canonical strings: their types are not carried"),
            (\.dataByBytes, "data compared by bytes: its representation (text, JSON, binary) changed with the content type"),
            (\.impliedJSONContentType, "datacontenttype application/json added for JSON data without one")
        ]
    }

    /// Records which rules `actual` needed to be equivalent to `expected`, and whether the
    /// extension types were needed to get `untyped`'s values back to their types.
    mutating func record(_ name: String, expected: CloudEvent, actual: CloudEvent, untyped: CloudEvent?) {
        if !Equivalence.exact.differences(expected, actual).isEmpty {
            for (rule, sentence) in Self.rules {
                var without = ConformanceRunner.specEquivalence
                without[keyPath: rule] = false
                if !without.differences(expected, actual).isEmpty { add(sentence, name) }
            }
        }
        if let untyped, !Equivalence.exact.differences(actual, untyped).isEmpty {
            add("extension values arrived as strings: decoded with the case's extension types", name)
        }
    }

    private mutating func add(_ sentence: String, _ event: String) {
        if let index = notes.firstIndex(where: { $0.note == sentence }) {
            notes[index].events.append(event)
        } else {
            notes.append(ConformanceNote(note: sentence, events: [event]))
        }
    }
}

extension Endpoint {
    /// Replaces query option `name` (or adds it).
    fileprivate mutating func setOption(_ name: String, _ value: String) {
        options.removeAll { $0.name == name }
        options.append((name, value))
    }
}
