/// The library-specific half of a ``LoopDriver``: how one turn of a C library's network loop
/// waits for I/O and does the library's work.
///
/// libmosquitto's adapter polls the mosquitto socket and a wake pipe, then calls
/// `mosquitto_loop_read`/`write`/`misc`; qpid-proton's calls `pn_proactor_wait` and handles
/// the batch of events it returns. The driver knows neither: it only calls ``runTurn(until:now:)``
/// on its own thread, again and again, and ``loopDidEnd()`` once at the end.
package protocol LoopDriverAdapter: AnyObject, Sendable {
    /// One turn of the loop, on the loop thread: look at the adapter's own queues first, then
    /// wait for I/O, a wake-up (``LoopWaker/wake()``) or `deadline`, whichever comes first,
    /// then do the library's work. Returning earlier than `deadline` is always allowed.
    ///
    /// The driver clears its wake-up flag before each turn, so work queued after that point
    /// wakes the wait again; work queued before it is seen because the adapter looks at its
    /// queues before waiting.
    ///
    /// - Parameters:
    ///   - deadline: the driver's next timer; `nil` when no timer is set.
    ///   - now: the time the driver read at the start of the turn (one clock read per turn,
    ///     shared by the driver's timers and the adapter's deadlines).
    func runTurn(until deadline: ContinuousClock.Instant?, now: ContinuousClock.Instant)

    /// Called once on the loop thread after the last turn, before the driver fails the
    /// continuations still registered with it.
    func loopDidEnd()
}

/// How a ``LoopDriver`` interrupts its adapter's wait: writing a byte to a pipe the adapter
/// polls (libmosquitto), `pn_proactor_interrupt` (qpid-proton), ...
///
/// Kept apart from the adapter so that the driver, which any thread may hold, never keeps
/// the adapter (and the C handle it owns) alive after the loop has ended.
package protocol LoopWaker: Sendable {
    /// Makes the adapter's current wait return soon, or its next one return at once. Called
    /// from any thread; the driver calls it at most once per turn however many wake-ups are
    /// asked for.
    func wake()
}
