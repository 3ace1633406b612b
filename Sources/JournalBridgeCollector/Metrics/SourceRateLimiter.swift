import JournalBridge

/// Applies a `RateLimit` on the collector's I/O thread, before routing. Every interval of a
/// source that suppressed anything yields exactly one summary ("suppressed N records from
/// SOURCE in the last T s"), with N the count the counters show. The limit can be replaced
/// at any time (reload); windows already open keep their start.
package final class SourceRateLimiter: Sendable {
    package struct Summary: Sendable {
        package var source: String
        package var suppressed: Int
        package var seconds: Double
        package var message: String {
            "suppressed \(suppressed) records from \(source) in the last \(seconds.formattedSeconds) s"
        }
    }

    private struct Window {
        var start: UInt64
        var admitted = 0
        var suppressed = 0
    }

    private struct State {
        var limit: RateLimit
        var windows: [String: Window] = [:]
        var nextExpiry: UInt64?
    }

    private let state: ConditionLock<State>
    /// Sources limited apart within one interval, at most (then uids, up to twice as many).
    package static let maximumWindows = 4096

    package init(_ limit: RateLimit) { state = ConditionLock(State(limit: limit)) }

    package var limit: RateLimit {
        get { state.withLock { $0.limit } }
        set { state.withLock { $0.limit = newValue } }
    }

    /// The records of `source` this interval admits, and how many it suppressed.
    package func admit(_ records: [LogRecord], source: SourceKey, now: UInt64) -> (
        admitted: [LogRecord], suppressed: Int
    ) {
        state.withLock { state in
            let limit = state.limit
            guard limit.isOn, !records.isEmpty else { return (records, 0) }
            var key = source.limitKey(limit.key)
            // Identifiers are the client's to choose: past this many windows open at once, a new
            // source shares its uid's window, so that churning names cannot grow the table, nor
            // use up a window other users' new sources share (one window for all of them let one
            // client have another's records suppressed). Past twice as many, one for the rest.
            if state.windows[key] == nil && state.windows.count >= Self.maximumWindows {
                key = source.limitKey(.uid)
                if state.windows[key] == nil && state.windows.count >= 2 * Self.maximumWindows {
                    key = SourceKey.other.identifier
                }
            }
            var window = state.windows[key] ?? Window(start: now)
            // The common case, a batch within its source's share, hands the same array on; only a
            // batch that reaches the burst is copied, record by record. By index: no copy to count.
            func isExempt(_ index: Int) -> Bool { limit.exemptLevel.map { records[index].level >= $0 } ?? false }
            var suppressed = 0
            var admitted = records
            let counted = records.indices.reduce(0) { $0 + (isExempt($1) ? 0 : 1) }
            if window.admitted + counted <= limit.burst {
                window.admitted += counted
            } else {
                admitted = []
                admitted.reserveCapacity(records.count)
                for index in records.indices {
                    if isExempt(index) {
                        admitted.append(records[index])
                    } else if window.admitted < limit.burst {
                        window.admitted += 1
                        admitted.append(records[index])
                    } else {
                        suppressed += 1
                    }
                }
            }
            window.suppressed += suppressed
            if state.windows[key] == nil {
                let end = MonotonicClock.deadline(after: limit.interval, from: now)
                state.nextExpiry = min(state.nextExpiry ?? end, end)
            }
            state.windows[key] = window
            return (admitted, suppressed)
        }
    }

    /// When the next window ends (the loop wakes then to report it).
    package var deadline: UInt64? { state.withLock { $0.nextExpiry } }

    /// Closes the windows that ended by `now` (all of them when `force`): one summary for each
    /// that suppressed anything.
    package func expire(now: UInt64, force: Bool = false) -> [Summary] {
        state.withLock { state in
            guard let next = state.nextExpiry, force || next <= now else { return [] }
            let length = MonotonicClock.nanoseconds(state.limit.interval)
            var summaries: [Summary] = []
            var nextExpiry: UInt64?
            for (key, window) in state.windows {
                let end = window.start &+ length
                if force || end <= now {
                    state.windows[key] = nil
                    if window.suppressed > 0 {
                        let seconds = Double(min(now, max(end, window.start)) &- window.start) / 1e9
                        summaries.append(Summary(source: key, suppressed: window.suppressed, seconds: max(seconds, 0)))
                    }
                } else {
                    nextExpiry = min(nextExpiry ?? end, end)
                }
            }
            state.nextExpiry = nextExpiry
            return summaries.sorted { $0.source < $1.source }
        }
    }
}

extension Double {
    /// "1", "0.5", "30": seconds as a person writes them.
    var formattedSeconds: String {
        let rounded = (self * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
