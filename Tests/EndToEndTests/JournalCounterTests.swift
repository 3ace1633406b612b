import Foundation
import JournalBridge
import JournalBridgeBenchmarks
import JournalBridgeTestSupport
import XCTest

/// The bench's end of a journald figure: journald's own time of storing the newest entry, not
/// the moment the counter looked (opening the journal's files and walking its entries took
/// 0.05 to 0.3 s on the bench's machine, which every journald figure counted as journald's).
final class JournalCounterTests: XCTestCase {
    func testTheTimeIsJournaldsStampOfTheNewestEntryNotWhenItWasSeen() throws {
        let identifier = Journal.uniqueIdentifier("jbcounter")
        let counter = try JournalCounter(identifier: identifier)
        try send(25, from: 1, as: identifier)
        XCTAssertEqual(try Journal.entries(identifier: identifier, atLeast: 25).count, 25)
        // The second half stored after `between`: a counter that gave the first entry's stamp fails.
        Thread.sleep(forTimeInterval: 0.5)
        let between = MonotonicClock.now()
        try send(25, from: 26, as: identifier)
        // Stored long before the counter looks: a counter that gave the time it saw them fails below.
        XCTAssertEqual(try Journal.entries(identifier: identifier, atLeast: 50).count, 50)
        Thread.sleep(forTimeInterval: 1)
        let looked = MonotonicClock.now()
        let (count, storedAt) = counter.wait(for: 50, quiet: 5)
        XCTAssertEqual(count, 50)
        XCTAssertGreaterThan(storedAt, between, "the newest entry's stamp: stored after the pause")
        XCTAssertLessThan(storedAt, looked, "the time journald stored the last one, not when the counter saw it")

        // A counter made now does not count those 50: with nothing new, their stamps are not
        // its time (one before the caller's start made the bench's durations negative).
        let later = try JournalCounter(identifier: identifier)
        let start = MonotonicClock.now()
        let (none, at) = later.wait(for: 0, quiet: 1)
        XCTAssertEqual(none, 0)
        XCTAssertGreaterThanOrEqual(at, start, "not a baseline entry's stamp")
    }

    /// A journal at its size cap: journald deletes its oldest files at every rotation, so an
    /// identifier's entries from before the counter was made (the bench's `--runs` reuse it) may
    /// vanish while it counts. They never counted; their going takes nothing from the count. The
    /// old counter subtracted them ("all of the identifier's entries minus those at the start")
    /// and reported stored entries missing. The files are written by systemd-journal-remote
    /// with the stamps given, in a directory of the test's own; removing one is the vacuum.
    func testEntriesFromBeforeItsMakingNeitherCountNorSubtractWhenJournaldDeletesTheirFile() throws {
        let directory = try TemporaryDirectory()
        let identifier = Journal.uniqueIdentifier("jbcounter")
        let boot = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
            .filter { $0 != "-" && $0 != "\n" }
        // Half the time since boot: before the counter, whenever the machine booted.
        let before = MonotonicClock.now() / 1000 / 2
        try writeJournal(
            directory.file("old.journal"), (0..<3).map { (boot, before + UInt64($0), identifier, "old \($0)") })
        let counter = try JournalCounter(identifier: identifier, directory: directory.path)
        let after = MonotonicClock.now() / 1000 + 1000
        let otherBoot = String(repeating: "0123456789abcdef", count: 2)
        try writeJournal(
            directory.file("new.journal"),
            (0..<5).map { (boot, after + UInt64($0), identifier, "new \($0)") }
                // Stamped later, but in another boot: not this run's.
                + [(otherBoot, after + 100, identifier, "another boot's")])
        try FileManager.default.removeItem(atPath: directory.file("old.journal"))
        let (count, storedAt) = counter.wait(for: 5, quiet: 1)
        XCTAssertEqual(count, 5, "the 5 entries stored after the counter was made, whatever went before")
        XCTAssertEqual(storedAt, (after + 4) * 1000, "the newest of them, this boot's")
        XCTAssertEqual(counter.count(), 5)
    }

    /// A journal file of `entries` (boot id, monotonic microseconds, identifier, message), as
    /// systemd-journal-remote writes one from journald's export format.
    private func writeJournal(_ path: String, _ entries: [(String, UInt64, String, String)]) throws {
        let remote = "/lib/systemd/systemd-journal-remote"
        guard FileManager.default.isExecutableFile(atPath: remote) else {
            throw Run.Failure(
                description: "\(remote) is missing: run scripts/bootstrap (it installs systemd-journal-remote)")
        }
        let realtime = UInt64(Date().timeIntervalSince1970 * 1e6)
        let export = entries.enumerated().map { index, entry in
            "__REALTIME_TIMESTAMP=\(realtime + UInt64(index))\n__MONOTONIC_TIMESTAMP=\(entry.1)\n_BOOT_ID=\(entry.0)\n"
                + "SYSLOG_IDENTIFIER=\(entry.2)\nMESSAGE=\(entry.3)\n\n"
        }.joined()
        let written = try Run.command(remote, ["--output=\(path)", "-"], stdin: Array(export.utf8))
        XCTAssertEqual(written.status, 0, written.stderrText)
    }

    private func send(_ count: Int, from first: Int, as identifier: String) throws {
        let lines = (first..<(first + count)).map { "entry \($0)" }.joined(separator: "\n") + "\n"
        let sent = try Run.command("/usr/bin/systemd-cat", ["-t", identifier, "cat"], stdin: Array(lines.utf8))
        XCTAssertEqual(sent.status, 0, sent.stderrText)
    }
}
