import JournalBridge
import Logging

/// A source of records for the collector: the bridge's wire listener (`BridgeInput`) is the
/// first; syslog's Unix datagram (`SCM_CREDENTIALS`), Unix stream, TCP and UDP listeners fit
/// the same seat.
///
/// An input owns its descriptors and its I/O on **a thread of its own** (the thread-owner rule,
/// `OwnedThread`): it turns bytes into records, stamps on each the kernel's identity of its
/// sender (`SO_PEERCRED` at connect for a stream, `SCM_CREDENTIALS` per datagram; never the
/// payload's claim), and hands them to `InputContext.deliver`, with a completion when it must
/// know that every sink stored them (the bridge's acks; syslog has none). Why a thread each
/// rather than one shared poll loop: datagram and stream inputs read, frame and limit in
/// different shapes (a datagram is a record; a stream has connections, decoders and a
/// memory share each), inputs are few, and backpressure stays simple: `deliver` blocks
/// while a `.block` sink queue (or the memory budget's record share) is full, so the input's
/// thread stops reading, the kernel's buffers fill and the senders wait (a stream's `send`
/// blocks; a Unix datagram sender blocks on its full queue). A full queue of one sink
/// thereby stops every input, and nothing is held outside the bounded queues.
///
/// Lifecycle, driven by `Collector`: `start` (descriptors opened, thread running), then at
/// stop `stopReading` (no new peers or datagrams; what peers already sent is read and
/// delivered; the thread is joined), the router drains the sinks, then `close` (the last
/// acknowledgements, every descriptor closed). `deinit` of an input that was started and not
/// stopped does both.
package protocol Input: AnyObject, Sendable {
    /// Short name for diagnostics: `bridge`, `syslog-unix`, ...
    var name: String { get }
    /// Opens the input's descriptors (binds its socket) and starts its thread. A failure
    /// leaves nothing open.
    func start(_ context: InputContext) throws(SystemError)
    /// Stops taking new peers, reads and delivers what they already sent, joins the thread.
    func stopReading()
    /// After the router drained: says its last words to peers (acks) and closes everything.
    func close()
    /// Open connections (0 for a datagram input).
    var connectionCount: Int { get }
}

/// What an input hands its records to: the collector's router and memory budget.
package struct InputContext: Sendable {
    package let router: Router
    /// The collector's memory budget; an input that holds unfinished frames takes its share.
    package let budget: MemoryBudget
    /// Counters per input and per source (`received = duplicates + rate_limited + routed`).
    package let tally: InputTally
    /// The fair share per source, applied before `deliver`.
    package let limiter: SourceRateLimiter

    package init(
        router: Router, budget: MemoryBudget, tally: InputTally = InputTally(),
        limiter: SourceRateLimiter = SourceRateLimiter(RateLimit())
    ) {
        self.router = router
        self.budget = budget
        self.tally = tally
        self.limiter = limiter
    }

    /// Routes `records` (their origin already stamped); `onStored` runs, on a sink's thread,
    /// once every sink has stored them. Blocks while a `.block` queue is full: backpressure.
    package func deliver(_ records: [LogRecord], onStored: (@Sendable () -> Void)? = nil) {
        router.route(records, onStored: onStored)
    }

    /// Records of one `source` on `input`, as the bridge and syslog inputs hand them over:
    /// held to the source's rate limit, counted (`received = rate_limited + routed`), and
    /// those admitted delivered.
    package func deliverLimited(_ records: [LogRecord], input: String, source: SourceKey) {
        let (admitted, suppressed) = limiter.admit(records, source: source, now: MonotonicClock.now())
        tally.batch(
            input: input, source: source, received: records.count, duplicates: 0, rateLimited: suppressed,
            routed: admitted.count, workerShed: 0)
        if !admitted.isEmpty { deliver(admitted) }
    }

    /// One record for each source's interval that suppressed anything (`SourceRateLimiter`),
    /// whichever input's thread notices first: the limiter hands each summary out once.
    package func reportRateLimits(force: Bool = false) {
        for summary in limiter.expire(now: MonotonicClock.now(), force: force) {
            event(
                .warning, summary.message,
                metadata: [
                    MetadataField(HealthEvent.messageIDKey, HealthEvent.rateLimited.id),
                    MetadataField("source", summary.source), MetadataField("suppressed", String(summary.suppressed)),
                ])
        }
    }

    /// A diagnostic of the collector's own (a client closed, a limit reached), through the same sinks.
    package func event(_ level: Logger.Level, _ message: String, metadata: [MetadataField] = []) {
        router.route([CollectorIdentity.record(level, message, metadata: metadata)])
    }
}
