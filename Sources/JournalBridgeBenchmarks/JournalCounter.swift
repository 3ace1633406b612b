import CSystemd
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// Counts the entries journald has stored for one `SYSLOG_IDENTIFIER`.
///
/// `count()` opens the journal, walks the identifier's entries (about 70 ms per
/// 100,000) and closes it. `wait(for:)` follows the tail of one handle instead, so
/// that polling often costs journald little CPU, and confirms with `count()` at the end.
/// The time it gives is journald's own: the `__MONOTONIC_TIMESTAMP` of the newest entry.
package final class JournalCounter {
    private let match: String
    private var baseline = 0

    /// `fromNow`: count only entries added after this call (an identifier may have older ones).
    package init(identifier: String, fromNow: Bool = true) throws(SystemError) {
        match = "SYSLOG_IDENTIFIER=\(identifier)"
        if fromNow {
            let journal = try open()
            defer { sd_journal_close(journal) }
            while sd_journal_next(journal) > 0 { baseline += 1 }
        }
    }

    private func open() throws(SystemError) -> OpaquePointer {
        var handle: OpaquePointer?
        let opened = sd_journal_open(&handle, Int32(SD_JOURNAL_LOCAL_ONLY))
        guard opened >= 0, let handle else { throw SystemError(call: "sd_journal_open", errno: -opened) }
        let added = match.withCString { sd_journal_add_match(handle, $0, 0) }
        guard added >= 0 else {
            sd_journal_close(handle)
            throw SystemError(call: "sd_journal_add_match", errno: -added)
        }
        // Without the inotify fd, sd_journal_process never notices files journald creates or rotates.
        _ = sd_journal_get_fd(handle)
        return handle
    }

    /// Entries stored since this counter was made (or in all, without `fromNow`); -1 if the journal cannot be read.
    package func count() -> Int {
        guard let journal = try? open() else { return -1 }
        defer { sd_journal_close(journal) }
        var total = 0
        while sd_journal_next(journal) > 0 { total += 1 }
        return total - baseline
    }

    /// Waits until `expected` entries are there, or until none arrived for `quiet` seconds.
    /// Returns the count (confirmed by a full `count()`) and the monotonic time (ns) journald
    /// stored the newest one at. Not the time this loop saw it: opening the journal's files and
    /// walking the entries take 0.05 to 0.3 s here, which the figure would otherwise count as
    /// journald's time (an entry of another boot has no time of ours: then the time it was seen).
    package func wait(for expected: Int, quiet: Double = 10, poll: Double = 0.02, progress: ((Int) -> Void)? = nil) -> (
        count: Int, at: UInt64
    ) {
        guard let journal = try? open() else { return (count(), MonotonicClock.now()) }
        defer { sd_journal_close(journal) }
        var seen = -baseline
        var lastChange = MonotonicClock.now()
        var storedAt: UInt64 = 0
        var lastReported = 0
        var thisBoot = sd_id128_t()
        let knowsBoot = sd_id128_get_boot(&thisBoot) >= 0
        while true {
            _ = sd_journal_process(journal)
            var moved = false
            while sd_journal_next(journal) > 0 {
                seen += 1
                moved = true
            }
            if moved {
                lastChange = MonotonicClock.now()
                // Only an entry this wait counts: the newest of the baseline is older than the caller's start.
                if seen > 0 {
                    var micros: UInt64 = 0
                    var boot = sd_id128_t()
                    let stamped =
                        knowsBoot && sd_journal_get_monotonic_usec(journal, &micros, &boot) >= 0
                        && sd_id128_equal(boot, thisBoot) != 0
                    storedAt = stamped ? max(storedAt, micros &* 1000) : lastChange
                }
                if seen - lastReported >= 50_000 {
                    lastReported = seen
                    progress?(seen)
                }
            }
            if seen >= expected || MonotonicClock.now() - lastChange > UInt64(quiet * 1e9) { break }
            usleep(useconds_t(poll * 1e6))
        }
        return (count(), storedAt == 0 ? lastChange : storedAt)
    }
}
