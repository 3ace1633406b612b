/// Why a record did not reach a sink (or the router), as the counters and `journal-bridge status` name it.
package enum DropReason: String, CaseIterable, Sendable, Comparable {
    /// The worker's own queue shed it before it reached the collector, as the worker reported
    /// (its "dropped N records" record carries a `dropped` metadata field).
    case workerShed = "worker_shed"
    /// A sink's queue was full under the `drop` policy.
    case queueFull = "queue_full"
    /// The source's rate limit suppressed it (it was acknowledged all the same).
    case rateLimited = "rate_limited"
    /// The sink tried and could not store it (disk full, a refused entry).
    case sinkFailure = "sink_failure"
    /// journald was away and the sink's backlog was full.
    case journaldBacklog = "journald_backlog"
    /// A frame that broke the protocol closed its connection: counted once per connection closed.
    case parseFailure = "parse_failure"
    /// A frame larger than the protocol allows closed its connection: once per connection closed.
    case oversizeCut = "oversize_cut"

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The reasons a sink's counters use.
    package static let sinkReasons: [DropReason] = [.queueFull, .sinkFailure, .journaldBacklog]
    /// The reasons an input's and a source's counters use.
    package static let inputReasons: [DropReason] = [.workerShed, .rateLimited, .parseFailure, .oversizeCut]
}

/// A sink that can say how many of its failures were journald-backlog overflow and how many
/// records it keeps for later (journald away): the counters need both to stay exact.
package protocol AccountedSink {
    /// Of `failedCount`, the records dropped from a full backlog.
    var backlogDropCount: Int { get }
    /// Records taken but neither stored nor dropped yet.
    var heldCount: Int { get }
}
