import CSystemd
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// Counts the entries journald has stored for one `SYSLOG_IDENTIFIER` since the counter was made.
///
/// An entry counts when journald stamped it in this boot at or after the counter's making
/// (its `__MONOTONIC_TIMESTAMP`): not "all of the identifier's entries minus those there at
/// the start", which a journal at its size cap breaks: journald deletes its oldest files at
/// every rotation, and older entries of a reused identifier (the bench's `--runs`) vanished
/// mid-run, so that entries stored were reported missing (twice in 9 runs on the bench's machine).
///
/// `count()` opens the journal, walks the identifier's entries (about 70 ms per
/// 100,000) and closes it. `wait(for:)` follows the tail of one handle instead, so
/// that polling often costs journald little CPU, and confirms with `count()` at the end.
/// The time it gives is journald's own: the `__MONOTONIC_TIMESTAMP` of the newest entry.
package final class JournalCounter {
    private let match: String
    /// Where to read: the system's journal, or the journal files of one directory (tests).
    private let directory: String?
    /// This boot, and the monotonic time (microseconds) the counter was made at.
    private let boot: sd_id128_t
    private let sinceMicros: UInt64

    /// Counts the entries of `identifier` stored from now on, in the system's journal or in `directory`'s files.
    package init(identifier: String, directory: String? = nil) throws(SystemError) {
        match = "SYSLOG_IDENTIFIER=\(identifier)"
        self.directory = directory
        var boot = sd_id128_t()
        let read = sd_id128_get_boot(&boot)
        guard read >= 0 else { throw SystemError(call: "sd_id128_get_boot", errno: -read) }
        self.boot = boot
        sinceMicros = MonotonicClock.now() / 1000
        // Fails now, not at the end of a phase, if the journal cannot be read.
        sd_journal_close(try open())
    }

    private func open() throws(SystemError) -> OpaquePointer {
        var handle: OpaquePointer?
        let opened =
            if let directory {
                sd_journal_open_directory(&handle, directory, 0)
            } else {
                sd_journal_open(&handle, Int32(SD_JOURNAL_LOCAL_ONLY))
            }
        guard opened >= 0, let handle else { throw SystemError(call: "sd_journal_open", errno: -opened) }
        let added = match.withCString { sd_journal_add_match(handle, $0, 0) }
        guard added >= 0 else {
            sd_journal_close(handle)
            throw SystemError(call: "sd_journal_add_match", errno: -added)
        }
        // Without the inotify fd, sd_journal_process never notices files journald creates or rotates.
        _ = sd_journal_get_fd(handle)
        // Past older entries of the identifier (a reused one may have a million): not walked while
        // journald catches up. `next` checks every entry all the same; a failed seek walks them all.
        _ = sd_journal_seek_monotonic_usec(handle, boot, sinceMicros)
        return handle
    }

    /// Moves `journal` to the next entry this counter counts; journald's stamp of it (nanoseconds,
    /// `CLOCK_MONOTONIC`), or nil when there is none yet.
    private func next(_ journal: OpaquePointer) -> UInt64? {
        while sd_journal_next(journal) > 0 {
            var micros: UInt64 = 0
            var entryBoot = sd_id128_t()
            // An entry whose stamp cannot be read is not known to be this run's: not counted.
            guard sd_journal_get_monotonic_usec(journal, &micros, &entryBoot) >= 0,
                sd_id128_equal(entryBoot, boot) != 0, micros >= sinceMicros
            else { continue }
            return micros &* 1000
        }
        return nil
    }

    /// Entries stored since this counter was made; -1 if the journal cannot be read.
    package func count() -> Int {
        guard let journal = try? open() else { return -1 }
        defer { sd_journal_close(journal) }
        var total = 0
        while next(journal) != nil { total += 1 }
        return total
    }

    /// Waits until `expected` entries are there, or until none arrived for `quiet` seconds.
    /// Returns the count (confirmed by a full `count()`) and the monotonic time (ns) journald
    /// stored the newest one at. Not the time this loop saw it: opening the journal's files and
    /// walking the entries take 0.05 to 0.3 s here, which the figure would otherwise count as
    /// journald's time. With no entry, the time the wait began.
    package func wait(for expected: Int, quiet: Double = 10, poll: Double = 0.02, progress: ((Int) -> Void)? = nil) -> (
        count: Int, at: UInt64
    ) {
        guard let journal = try? open() else { return (count(), MonotonicClock.now()) }
        defer { sd_journal_close(journal) }
        var seen = 0
        var lastChange = MonotonicClock.now()
        var storedAt: UInt64 = 0
        var lastReported = 0
        while true {
            _ = sd_journal_process(journal)
            var moved = false
            while let stamp = next(journal) {
                seen += 1
                moved = true
                storedAt = max(storedAt, stamp)
            }
            if moved {
                lastChange = MonotonicClock.now()
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
