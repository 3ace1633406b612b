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

        // A counter made now has those 50 as its baseline: with nothing new, their stamps are
        // not its time (one before the caller's start made the bench's durations negative).
        let later = try JournalCounter(identifier: identifier)
        let start = MonotonicClock.now()
        let (none, at) = later.wait(for: 0, quiet: 1)
        XCTAssertEqual(none, 0)
        XCTAssertGreaterThanOrEqual(at, start, "not a baseline entry's stamp")
    }

    private func send(_ count: Int, from first: Int, as identifier: String) throws {
        let lines = (first..<(first + count)).map { "entry \($0)" }.joined(separator: "\n") + "\n"
        let sent = try Run.command("/usr/bin/systemd-cat", ["-t", identifier, "cat"], stdin: Array(lines.utf8))
        XCTAssertEqual(sent.status, 0, sent.stderrText)
    }
}
