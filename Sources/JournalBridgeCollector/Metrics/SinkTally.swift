import JournalBridge
import Metrics

/// One sink's exact counters. Every change happens under one lock, so a snapshot always shows
///
///     routed = written + Σ dropped + queued + held
///
/// where `queued` is what the sink's queue holds and `held` what the sink took but neither
/// stored nor dropped yet (journald's backlog while journald is away): the records in flight.
/// Once the queue is drained and journald is back, both are 0 and `routed = written + Σ dropped`.
///
/// The sink's queue calls this: `enqueued`/`refused` when records are routed to it, `settle`
/// on its own thread after every call into the sink, from the sink's cumulative failure counts
/// (the sink is only ever called from that thread, so its counts cannot move in between).
/// Each call also reports to swift-metrics, once per call, never per record.
package final class SinkTally: Sendable {
    package struct Snapshot: Sendable, Equatable {
        package var name: String
        package var routed = 0
        package var written = 0
        package var queued = 0
        package var held = 0
        package var dropped: [DropReason: Int] = [:]
        package var latency = LatencyHistogram()
        package var droppedTotal: Int { dropped.values.reduce(0, +) }
        package var inFlight: Int { queued + held }
    }

    private struct State {
        var snapshot: Snapshot
        var innerFailed = 0
        var innerBacklogDropped = 0
    }

    private let state: ConditionLock<State>
    private let routedCounter: Counter
    private let writtenCounter: Counter
    private let droppedCounters: [DropReason: Counter]
    private let latencyTimer: Timer

    package init(name: String) {
        state = ConditionLock(State(snapshot: Snapshot(name: name)))
        let dimensions = [("sink", name)]
        routedCounter = Counter(label: "journal_bridge_sink_routed_total", dimensions: dimensions)
        writtenCounter = Counter(label: "journal_bridge_sink_written_total", dimensions: dimensions)
        droppedCounters = Dictionary(
            uniqueKeysWithValues: DropReason.sinkReasons.map {
                (
                    $0,
                    Counter(
                        label: "journal_bridge_sink_dropped_total", dimensions: dimensions + [("reason", $0.rawValue)])
                )
            }
        )
        latencyTimer = Timer(label: "journal_bridge_sink_latency", dimensions: dimensions)
    }

    /// `count` records routed to the sink and queued for it.
    package func enqueued(_ count: Int) {
        guard count > 0 else { return }
        state.withLock {
            $0.snapshot.routed += count
            $0.snapshot.queued += count
        }
        routedCounter.increment(by: count)
    }

    /// `count` records routed to the sink and dropped at once (`reason`: its queue was full).
    package func refused(_ count: Int, reason: DropReason) {
        guard count > 0 else { return }
        state.withLock {
            $0.snapshot.routed += count
            $0.snapshot.dropped[reason, default: 0] += count
        }
        routedCounter.increment(by: count)
        droppedCounters[reason]?.increment(by: count)
    }

    /// After a call into the sink: `taken` records left the queue for it (0 for an idle call),
    /// `latency` after they were routed; `failed`, `backlogDropped` and `held` are the sink's
    /// counts now.
    package func settle(taken: Int, latency: UInt64?, failed: Int, backlogDropped: Int, held: Int) {
        let (written, failures, overflow) = state.withLock { state -> (Int, Int, Int) in
            let newFailed = max(0, failed - state.innerFailed)
            let newOverflow = min(newFailed, max(0, backlogDropped - state.innerBacklogDropped))
            state.innerFailed = max(state.innerFailed, failed)
            state.innerBacklogDropped = max(state.innerBacklogDropped, backlogDropped)
            let written = taken + state.snapshot.held - held - newFailed
            state.snapshot.queued -= taken
            state.snapshot.held = held
            state.snapshot.written += written
            if newFailed > newOverflow { state.snapshot.dropped[.sinkFailure, default: 0] += newFailed - newOverflow }
            if newOverflow > 0 { state.snapshot.dropped[.journaldBacklog, default: 0] += newOverflow }
            if let latency { state.snapshot.latency.observe(latency, records: taken) }
            return (written, newFailed - newOverflow, newOverflow)
        }
        if written > 0 { writtenCounter.increment(by: written) }
        if failures > 0 { droppedCounters[.sinkFailure]?.increment(by: failures) }
        if overflow > 0 { droppedCounters[.journaldBacklog]?.increment(by: overflow) }
        if let latency, taken > 0 { latencyTimer.recordNanoseconds(Int64(clamping: latency)) }
    }

    package var snapshot: Snapshot { state.withLock { $0.snapshot } }

    /// Records the sink has stored so far.
    package var writtenCount: Int { state.withLock { $0.snapshot.written } }
}
