import JournalBridge
import Logging

/// Watches one sink's `failedCount` for the router, which says what the sink failed to write
/// as a record through the other sinks: at most once a second per sink (failures in between
/// are summed into the next report, which the sink's queue asks for at least once a second).
/// A record a sink failed to write has still been acknowledged (docs/protocol.md, "ack"):
/// this report, the sink's line on stderr and `Router.Statistics` are how the loss is seen.
final class SinkFailureWatch: Sendable {
    struct Report {
        var message: String
        var metadata: [MetadataField]
        var level: Logger.Level = .error
        var event: HealthEvent = .dropEpisode
    }

    private struct State {
        var reported = 0
        var lastReport: UInt64 = 0
        var reportsReceived = 0
        /// A failure was reported and no recovery yet; the failed count when the episode began.
        var episodeFrom: Int?
        /// The failed count last seen, when it last changed, and what the sink had written then.
        var lastSeenFailed = 0
        var lastFailureAt: UInt64 = 0
        var writtenAtLastFailure = 0
    }

    private let state = ConditionLock(State())

    /// The router is about to give this sink one of its reports about another sink.
    func willReceiveReport() { state.withLock { $0.reportsReceived += 1 } }

    /// A report of the failures since the last one, if there are any and a second has passed.
    func check(name: String, failed: Int, lastFailure: String?, now: UInt64) -> Report? {
        state.withLock { state -> Report? in
            guard failed > state.reported else { return nil }
            guard state.lastReport == 0 || now &- state.lastReport >= 1_000_000_000 else { return nil }
            let new = failed - state.reported
            // When no more failed than the router's reports it was given, those reports are what
            // failed (two sinks failing at once): saying so again would bounce between them.
            let onlyReports = new <= state.reportsReceived
            state.reported = failed
            state.reportsReceived = 0
            if onlyReports { return nil }
            if state.episodeFrom == nil { state.episodeFrom = failed - new }
            state.lastReport = now
            let reason = lastFailure ?? "the sink gave no reason"
            return Report(
                message:
                    "\(name) could not write \(new) records (\(reason)); \(failed) in all. They were acknowledged; the other sinks are not affected",
                metadata: [
                    MetadataField("sink", name), MetadataField("failed", String(new)),
                    MetadataField("failed.total", String(failed)),
                    MetadataField("reason", reason),
                ]
            )
        }
    }

    /// After a reported episode: once the sink has written records again (`written`, its tally)
    /// and failed no more for a second, one report that it recovered, with what the episode lost.
    func checkRecovery(name: String, failed: Int, written: Int, now: UInt64) -> Report? {
        state.withLock { state -> Report? in
            if failed != state.lastSeenFailed {
                state.lastSeenFailed = failed
                state.lastFailureAt = now
                state.writtenAtLastFailure = written
                return nil
            }
            guard let from = state.episodeFrom, failed == state.reported, written > state.writtenAtLastFailure,
                now &- state.lastFailureAt >= 1_000_000_000
            else { return nil }
            state.episodeFrom = nil
            return Report(
                message:
                    "\(name) is writing again; \(failed - from) records were lost in the episode, \(failed) in all",
                metadata: [
                    MetadataField("sink", name), MetadataField("lost", String(failed - from)),
                    MetadataField("failed.total", String(failed)),
                ],
                level: .notice, event: .recovered
            )
        }
    }
}
