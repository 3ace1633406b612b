import JournalBridge
import Synchronization

/// How a syslog input hands its records to the collector, as the bridge input does
/// (`InputContext.deliverLimited`): a run of records per source, held to that source's rate
/// limit and counted per input and per source; what its `SyslogCounters` learn (malformed
/// and cut messages, kernel drops, refused connections) follows into the same counters.
/// One per input, shared by its threads (a stream input has several).
final class SyslogDelivery: Sendable {
    let input: String
    let context: InputContext
    let counters: SyslogCounters
    /// What the counters showed when last passed on: parse failures, cut, kernel drops, refused.
    /// Under a lock: each growth is passed on once, whichever thread notices it.
    private let passed = ConditionLock((0, 0, 0, 0))

    init(input: String, context: InputContext, counters: SyslogCounters) {
        self.input = input
        self.context = context
        self.counters = counters
    }

    /// The source a record counts under: the kernel's uid for a Unix sender (no uid for a
    /// network one) with its systemd unit when its identity is read; a network sender by its
    /// `peer` address (its port dropped: a new socket, a new port), a Unix one by the record's
    /// identifier.
    static func source(of origin: Origin, peer: String?) -> SourceKey {
        guard let peer, !peer.isEmpty else {
            return SourceKey(uid: origin.uid, unit: origin.identity?.sourceUnit, identifier: origin.identifier)
        }
        let host = peer.lastIndex(of: ":").map { String(peer[..<$0]) } ?? peer
        return SourceKey(uid: origin.uid, unit: nil, identifier: host)
    }

    /// Delivers `records` in order, all of one source.
    func deliver(_ records: [LogRecord], source: SourceKey) {
        if !records.isEmpty { context.deliverLimited(records, input: input, source: source) }
        tick()
    }

    /// Delivers `records` in order, one run per source (`sources[i]` is the source of `records[i]`).
    func deliver(_ records: [LogRecord], sources: [SourceKey]) {
        var start = records.startIndex
        while start < records.endIndex {
            var end = start + 1
            while end < records.endIndex && sources[end] == sources[start] { end += 1 }
            context.deliverLimited(Array(records[start..<end]), input: input, source: sources[start])
            start = end
        }
        tick()
    }

    /// Passes on what the counters grew by, and the rate limit's summaries that are due.
    func tick() {
        let now = (
            counters.parseFailures.load(ordering: .relaxed), counters.cutMessages.load(ordering: .relaxed),
            counters.kernelDrops.load(ordering: .relaxed), counters.refusedConnections.load(ordering: .relaxed)
        )
        passed.withLock { passed in
            // Counters only grow; a later reading taken by another thread may already be passed on.
            guard now.0 >= passed.0, now.1 >= passed.1, now.2 >= passed.2, now.3 >= passed.3 else { return }
            context.tally.failure(input: input, reason: .parseFailure, count: now.0 - passed.0)
            context.tally.failure(input: input, reason: .oversizeCut, count: now.1 - passed.1)
            context.tally.failure(input: input, reason: .kernelDrop, count: now.2 - passed.2)
            context.tally.failure(input: input, reason: .refusedConnection, count: now.3 - passed.3)
            passed = now
        }
        context.reportRateLimits()
    }
}
