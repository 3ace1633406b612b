import JournalBridge

/// Says a failure once on stderr, counts what it cost, and says when it is over,
/// so that a full disk or a missing journald never produces a line per record.
/// A failure that returns within a second belongs to the same episode: a nearly full
/// disk that takes one small write and refuses the next is not "recovered".
struct FailureReport {
    let sink: String
    private(set) var failing = false
    private(set) var lostSinceReport = 0
    private var lastFailure: UInt64 = 0

    init(sink: String) { self.sink = sink }

    mutating func failed(_ reason: String, records: Int) {
        lostSinceReport += records
        lastFailure = MonotonicClock.now()
        if !failing {
            failing = true
            StandardError.write("journal-bridge: \(sink): \(reason); records are counted until it recovers\n")
        }
    }

    mutating func recovered() {
        guard failing, MonotonicClock.now() - lastFailure >= 1_000_000_000 else { return }
        failing = false
        StandardError.write("journal-bridge: \(sink): recovered; \(lostSinceReport) records could not be written\n")
        lostSinceReport = 0
    }

    /// At close: what the current episode cost, if it was not said yet.
    mutating func finish() {
        guard lostSinceReport > 0 else { return }
        StandardError.write("journal-bridge: \(sink): \(lostSinceReport) records could not be written\n")
        lostSinceReport = 0
        failing = false
    }
}
