import Foundation
import JournalBridgeTestSupport
import XCTest

/// Runs every `journalctl` recipe of docs/journalctl.md, as written there, on records
/// the bridge stored, and checks each returns the records it promises.
final class JournalctlRecipeTests: XCTestCase {
    private static let documentedIdentifier = "journal-bridge-demo"
    private static let documentedPID = "12345"

    /// The recipes before the "Syslog messages" section (SyslogRecipeTests runs those).
    private func recipes() throws -> [String] { try JournalctlRecipes.lines(until: "## Syslog") }

    func testEveryRecipeReturnsTheRecordsItPromises() throws {
        let identifier = Journal.uniqueIdentifier("jbrecipe")
        func send(_ arguments: [String]) throws {
            let result = try Run.journalBridge(
                ["send", "--direct", "--no-files", "--identifier", identifier] + arguments)
            XCTAssertEqual(result.status, 0, result.stderrText)
        }
        // Worker 3 (one process: two warnings), worker 3 again (another process: a debug), worker 4 (an error).
        let first = try Run.journalBridge([
            "send", "--direct", "--no-files", "--identifier", identifier, "--label", "demo.worker-3", "--field",
            "worker=worker-3",
            "--level", "warning", "worker-3 disk almost full",
        ])
        XCTAssertEqual(first.status, 0, first.stderrText)
        let firstPID = String(first.pid)
        try send(["--label", "demo.worker-3", "--field", "worker=worker-3", "--level", "debug", "worker-3 cache miss"])
        try send([
            "--label", "demo.worker-4", "--field", "worker=worker-4", "--level", "error", "worker-4 connection refused",
        ])
        XCTAssertEqual(try Journal.entries(identifier: identifier, atLeast: 3).count, 3)

        let all: Set = ["worker-3 disk almost full", "worker-3 cache miss", "worker-4 connection refused"]
        let expected: [String: Set<String>] = [
            "journalctl -t journal-bridge-demo": all,
            "journalctl -t journal-bridge-demo SYSLOG_PID=12345": ["worker-3 disk almost full"],
            "journalctl -t journal-bridge-demo -p warning": [
                "worker-3 disk almost full", "worker-4 connection refused",
            ],
            "journalctl -t journal-bridge-demo LOGGER_LABEL=demo.worker-3": [
                "worker-3 disk almost full", "worker-3 cache miss",
            ],
            "journalctl -t journal-bridge-demo WORKER=worker-4": ["worker-4 connection refused"],
            "journalctl -t journal-bridge-demo --since \"10 minutes ago\"": all,
            "journalctl -t journal-bridge-demo -f": all,
            "journalctl -t journal-bridge-demo -o json --all": all,
            "journalctl -t journal-bridge-demo -o json --output-fields=MESSAGE,PRIORITY,SYSLOG_PID,LOGGER_LABEL": all,
        ]
        let documented = try recipes()
        XCTAssertEqual(Set(documented), Set(expected.keys), "docs/journalctl.md and this test list the same recipes")

        for recipe in documented {
            let command =
                recipe
                .replacingOccurrences(of: Self.documentedIdentifier, with: identifier)
                .replacingOccurrences(of: Self.documentedPID, with: firstPID)
            // `-f` never ends by itself: give it two seconds, as a person would before Ctrl-C.
            let shell = recipe.contains(" -f") ? "timeout 2 \(command); true" : command
            let result = try Run.command("/bin/sh", ["-c", shell], environment: ["SYSTEMD_PAGER": "", "PAGER": "cat"])
            XCTAssertEqual(result.status, 0, "\(recipe): \(result.stderrText)")
            let messages: Set<String>
            if recipe.contains("-o json") {
                let objects = result.stdout.split(separator: UInt8(ascii: "\n")).compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
                }
                messages = Set(objects.compactMap { $0["MESSAGE"] as? String })
                if recipe.contains("--output-fields") {
                    for object in objects {
                        XCTAssertNotNil(object["PRIORITY"], recipe)
                        XCTAssertEqual(object["SYSLOG_PID"] != nil, true, recipe)
                        XCTAssertNotNil(object["LOGGER_LABEL"], recipe)
                        XCTAssertNil(object["CODE_FILE"], "only the fields asked for: \(recipe)")
                    }
                }
            } else {
                // Short format: "Nov 25 23:48:26 host identifier[pid]: message"
                messages = Set(
                    result.stdoutText.split(separator: "\n").compactMap { line in
                        line.range(of: "]: ").map { String(line[$0.upperBound...]) }
                    })
            }
            XCTAssertEqual(messages, expected[recipe], recipe)
        }
    }
}
