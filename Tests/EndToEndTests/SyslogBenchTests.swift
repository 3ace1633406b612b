import Foundation
import JournalBridgeTestSupport
import XCTest

/// `journal-bridge bench --syslog` with the sender scripts/bench-report compiles: every message
/// accounted for, in the files and in journald.
final class SyslogBenchTests: XCTestCase {
    func testSyslogBenchCountsEveryMessageOnBothInputs() throws {
        let directory = try TemporaryDirectory()
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/peers/syslog-flood.c").standardized.path
        let sender = directory.file("syslog-flood")
        let compiled = try Run.command("/usr/bin/cc", ["-O2", "-o", sender, source])
        XCTAssertEqual(compiled.status, 0, compiled.stderrText)
        for mode in ["unix", "tcp"] {
            let identifier = Journal.uniqueIdentifier("jbslbench")
            let result = try Run.journalBridge([
                "bench", "--syslog", mode, "--syslog-sender", sender, "--sinks", "journald,files", "--workers", "3",
                "--records", "400",
                "--ceiling-records", "300", "--identifier", identifier,
            ])
            XCTAssertEqual(result.status, 0, result.stderrText)
            XCTAssertTrue(
                result.stdoutText.contains("journal-bridge bench --syslog \(mode): 3 senders x 400 messages"),
                result.stdoutText)
            XCTAssertTrue(
                result.stdoutText.contains("missing (files / journald)                  0 / 0"), result.stdoutText)
            // Each run against both ceilings measured before it: the probe's and journald's rate for these very entries.
            for line in [
                "journald ceiling, same run", "end to end / ceiling, per run",
                "end to end / syslog-shaped ceiling, per run",
            ] {
                XCTAssertTrue(result.stdoutText.contains(line), "\(line) missing from\n\(result.stdoutText)")
            }
            XCTAssertEqual(try Journal.entries(identifier: identifier, atLeast: 1200).count, 1200)
        }
        let bad = try Run.journalBridge(["bench", "--syslog", "udp", "--syslog-sender", sender])
        XCTAssertEqual(bad.status, 64, bad.stderrText)
    }
}
