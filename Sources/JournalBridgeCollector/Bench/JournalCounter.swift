import CSystemd
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// Counts the entries journald has stored for one `SYSLOG_IDENTIFIER`.
/// Each count walks the identifier's entries from the head (about 70 ms per 100,000):
/// following the tail incrementally loses entries when journald rotates its files.
public final class JournalCounter {
    private let journal: OpaquePointer
    private var baseline = 0

    /// `fromNow`: count only entries added after this call (an identifier may have older ones).
    public init(identifier: String, fromNow: Bool = true) throws(SystemError) {
        var handle: OpaquePointer?
        let opened = sd_journal_open(&handle, Int32(SD_JOURNAL_LOCAL_ONLY))
        guard opened >= 0, let handle else { throw SystemError(call: "sd_journal_open", errno: -opened) }
        journal = handle
        let match = "SYSLOG_IDENTIFIER=\(identifier)"
        let added = match.withCString { sd_journal_add_match(handle, $0, 0) }
        guard added >= 0 else {
            sd_journal_close(handle)
            throw SystemError(call: "sd_journal_add_match", errno: -added)
        }
        // sd_journal_process only notices new and rotated files once the inotify fd exists.
        _ = sd_journal_get_fd(handle)
        if fromNow { baseline = count() }
    }

    deinit { sd_journal_close(journal) }

    /// Entries stored since this counter was made (or in all, without `fromNow`).
    public func count() -> Int {
        _ = sd_journal_process(journal)  // picks up files journald created or rotated
        sd_journal_seek_head(journal)
        var total = 0
        while sd_journal_next(journal) > 0 { total += 1 }
        return total - baseline
    }

    /// Waits until `expected` entries are there, or until none arrived for `quiet` seconds.
    /// Returns the count and the monotonic time (ns) at which the last one was seen.
    public func wait(for expected: Int, quiet: Double = 10, poll: Double = 0.1, progress: ((Int) -> Void)? = nil) -> (count: Int, at: UInt64) {
        var last = count()
        var lastChange = MonotonicClock.now()
        while last < expected {
            usleep(useconds_t(poll * 1e6))
            let now = count()
            if now != last {
                last = now
                lastChange = MonotonicClock.now()
                progress?(now)
            } else if MonotonicClock.now() - lastChange > UInt64(quiet * 1e9) {
                break
            }
        }
        return (last, lastChange)
    }
}
