import Foundation
import JournalBridge
import JournalBridgeBenchmarks
import JournalBridgeTestSupport
import XCTest

/// The bench's end of a journald figure: journald's own time of storing the last entry, not
/// the moment the counter looked (opening the journal's files and walking its entries took
/// 0.05 to 0.3 s on the bench's machine, which every journald figure counted as journald's).
final class JournalCounterTests: XCTestCase {
    func testTheTimeIsJournaldsStampOfTheNewestEntryNotWhenItWasSeen() throws {
        let identifier = Journal.uniqueIdentifier("jbcounter")
        let counter = try JournalCounter(identifier: identifier)
        let before = MonotonicClock.now()
        let lines = (1...50).map { "entry \($0)" }.joined(separator: "\n") + "\n"
        let sent = try Run.command("/usr/bin/systemd-cat", ["-t", identifier, "cat"], stdin: Array(lines.utf8))
        XCTAssertEqual(sent.status, 0, sent.stderrText)
        // Stored long before the counter looks: a counter that gave the time it saw them fails below.
        XCTAssertEqual(try Journal.entries(identifier: identifier, atLeast: 50).count, 50)
        Thread.sleep(forTimeInterval: 1)
        let looked = MonotonicClock.now()
        let (count, storedAt) = counter.wait(for: 50, quiet: 5)
        XCTAssertEqual(count, 50)
        XCTAssertGreaterThan(storedAt, before, "journald stored them after they were sent")
        XCTAssertLessThan(storedAt, looked, "the time journald stored the last one, not when the counter saw it")
    }
}
