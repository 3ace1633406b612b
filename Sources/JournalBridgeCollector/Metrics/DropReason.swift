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
    /// For a syslog input: a malformed message, stored all the same (`JB_SYSLOG_ERROR`).
    case parseFailure = "parse_failure"
    /// A frame larger than the protocol allows closed its connection: once per connection closed.
    /// For a syslog input: a message cut to its limit, stored with a marker.
    case oversizeCut = "oversize_cut"
    /// Syslog datagrams the kernel dropped, the socket's receive queue full (`SO_RXQ_OVFL`).
    case kernelDrop = "kernel_drop"
    /// Syslog stream connections closed at once (too many open, the memory limit, no peer credentials).
    case refusedConnection = "refused_connection"

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The reasons a sink's counters use.
    package static let sinkReasons: [DropReason] = [.queueFull, .sinkFailure, .journaldBacklog]
    /// The reasons an input's and a source's counters use.
    package static let inputReasons: [DropReason] = [
        .workerShed, .rateLimited, .parseFailure, .oversizeCut, .kernelDrop, .refusedConnection,
    ]
}

/// A sink that can say how many of its failures were journald-backlog overflow and how many
/// records it keeps for later (journald away): the counters need both to stay exact.
package protocol AccountedSink {
    /// Of `failedCount`, the records dropped from a full backlog.
    var backlogDropCount: Int { get }
    /// Records taken but neither stored nor dropped yet.
    var heldCount: Int { get }
}
