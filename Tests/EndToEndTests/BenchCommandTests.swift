import Foundation
import JournalBridgeTestSupport
import XCTest

/// `journal-bridge bench` as a user runs it: the figures are there and every record is
/// accounted for. (What the figures are is docs/performance.md's business, not a test's.)
final class BenchCommandTests: XCTestCase {
    func testJSONHasEveryFigureAndCountsEveryRecord() throws {
        let identifier = Journal.uniqueIdentifier("jbbench")
        let result = try Run.journalBridge([
            "bench", "--workers", "3", "--records", "400", "--paced-records", "100", "--ceiling-records", "500",
            "--identifier", identifier, "--json",
        ])
        XCTAssertEqual(result.status, 0, result.stderrText)
        let object = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any], result.stdoutText)
        for key in [
            "records", "missing", "records_per_second", "journald_ceiling_per_second", "ratio_to_ceiling",
            "call_p50_us",
            "call_p99_us", "collector_peak_rss_bytes", "bridge_shaped_ceiling_per_second", "saturated_call_p99_us",
        ] {
            XCTAssertNotNil(object[key], key)
        }
        XCTAssertEqual(object["records"] as? Int, 1200)
        XCTAssertEqual(object["missing"] as? Int, 0)
        XCTAssertEqual(object["missing_journald"] as? Int, 0)
        XCTAssertGreaterThan((object["records_per_second"] as? Double) ?? 0, 0)
        XCTAssertGreaterThan((object["ratio_to_ceiling"] as? Double) ?? 0, 0)
        XCTAssertGreaterThan((object["collector_peak_rss_bytes"] as? Double) ?? 0, 1_000_000)
        XCTAssertTrue(result.stderrText.contains("bench: run 1/1: journald ceiling"), "progress on stderr")
        // The records really are in journald, under the identifier it was given.
        XCTAssertEqual(try Journal.messages(identifier: identifier, atLeast: 1200).count, 1200)
        XCTAssertEqual(try Journal.messages(identifier: identifier + "-ceiling", atLeast: 500).count, 500)
    }

    func testFilesOnlyTableAndBadSinkName() throws {
        let table = try Run.journalBridge([
            "bench", "--sinks", "files", "--workers", "2", "--records", "300", "--paced-records", "50",
        ])
        XCTAssertEqual(table.status, 0, table.stderrText)
        XCTAssertTrue(table.stdoutText.contains("missing (files / journald)"), table.stdoutText)
        XCTAssertTrue(table.stdoutText.contains("0 / -"), table.stdoutText)
        XCTAssertTrue(table.stdoutText.contains("end to end"), table.stdoutText)
        XCTAssertFalse(table.stdoutText.contains("ceiling"), "no journald, no ceiling")

        let bad = try Run.journalBridge(["bench", "--sinks", "files,carrier-pigeon"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderrText.contains("carrier-pigeon"), bad.stderrText)
    }
}
