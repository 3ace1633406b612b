import JournalBridge
import Metrics

/// Counts per input, per source and per level, exact under one lock:
///
///     received = duplicates + rate_limited + routed        (per input and per source)
///
/// `worker_shed`, `parse_failure` and `oversize_cut` count records (or connections) that never
/// became records the collector received: they stand beside the identity, not in it.
/// The collector's own records (its diagnostics, summaries) are routed without being received
/// from an input: they appear per level (`Router.Statistics`) and per sink only. Updated once per batch.
package final class InputTally: Sendable {
    package struct Counts: Sendable, Equatable {
        package var received = 0
        package var duplicates = 0
        package var routed = 0
        package var dropped: [DropReason: Int] = [:]
    }

    package struct Snapshot: Sendable, Equatable {
        package var inputs: [String: Counts] = [:]
        package var sources: [SourceKey: Counts] = [:]
    }

    /// Sources kept apart; past this, new ones are counted under `SourceKey.other`.
    package static let maximumSources = 1024

    private let state = ConditionLock(Snapshot())
    private let receivedCounter = Counter(
        label: "journal_bridge_input_received_total", dimensions: [("input", "bridge")])
    private let duplicateCounter = Counter(
        label: "journal_bridge_input_duplicates_total", dimensions: [("input", "bridge")])
    private let limitedCounter = Counter(
        label: "journal_bridge_input_dropped_total",
        dimensions: [("input", "bridge"), ("reason", DropReason.rateLimited.rawValue)]
    )

    package init() {}

    /// One batch from `source` on `input`.
    package func batch(
        input: String, source: SourceKey, received: Int, duplicates: Int, rateLimited: Int, routed: Int, workerShed: Int
    ) {
        state.withLock { state in
            let key = state.sources[source] != nil || state.sources.count < Self.maximumSources ? source : .other
            func add(_ counts: inout Counts) {
                counts.received += received
                counts.duplicates += duplicates
                counts.routed += routed
                if rateLimited > 0 { counts.dropped[.rateLimited, default: 0] += rateLimited }
                // A worker's own claim (up to 2^40 a record): saturates, where a lying client
                // would make the sum overflow within 2^23 records.
                if workerShed > 0 {
                    let (sum, overflow) = counts.dropped[.workerShed, default: 0].addingReportingOverflow(workerShed)
                    counts.dropped[.workerShed] = overflow ? Int.max : sum
                }
            }
            add(&state.inputs[input, default: Counts()])
            add(&state.sources[key, default: Counts()])
        }
        guard input == "bridge" else {
            // A syslog input's counters, under its own name (made per batch: a lookup in the backend).
            Counter(label: "journal_bridge_input_received_total", dimensions: [("input", input)]).increment(
                by: received)
            if rateLimited > 0 {
                Counter(
                    label: "journal_bridge_input_dropped_total",
                    dimensions: [("input", input), ("reason", DropReason.rateLimited.rawValue)]
                ).increment(by: rateLimited)
            }
            return
        }
        receivedCounter.increment(by: received)
        if duplicates > 0 { duplicateCounter.increment(by: duplicates) }
        if rateLimited > 0 { limitedCounter.increment(by: rateLimited) }
    }

    /// A connection of `input` closed for `reason` (parse failure, oversize), or `count` messages
    /// of a syslog input stored malformed or cut, dropped by the kernel, connections refused.
    package func failure(input: String, reason: DropReason, count: Int = 1) {
        guard count > 0 else { return }
        state.withLock { $0.inputs[input, default: Counts()].dropped[reason, default: 0] += count }
        Counter(
            label: "journal_bridge_input_dropped_total", dimensions: [("input", input), ("reason", reason.rawValue)]
        ).increment(by: count)
    }

    package var snapshot: Snapshot { state.withLock { $0 } }
}
