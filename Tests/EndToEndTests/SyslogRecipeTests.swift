import Foundation
import JournalBridgeTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Runs the journalctl recipes of docs/journalctl.md's "Syslog messages" section, as written
/// there, on messages a real client (Python's socket module) sent to the datagram input.
final class SyslogRecipeTests: XCTestCase {
    /// The "Syslog messages" section's recipes.
    private func recipes() throws -> [String] { try JournalctlRecipes.lines(from: "## Syslog", until: "## ") }

    func testEverySyslogRecipeReturnsTheMessagesItPromises() throws {
        let daemon = try SyslogInputTests.SyslogDaemon()
        let identifier = Journal.uniqueIdentifier("myproc")
        let messages = [
            "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 \(identifier) 8710 ID47 [origin@32473 ip=\"192.0.2.1\"] do-nuts",
            "<163>1 2003-08-24T05:14:16.000003-07:00 192.0.2.2 \(identifier) 8711 ID48 - connection refused",
            "<14>Nov 25 23:48:26 otherhost \(identifier)[99]: plain old syslog",
        ]
        let script =
            "import socket, sys\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\nfor m in sys.argv[2:]: s.sendto(m.encode(), sys.argv[1])\n"
        let sender = try BackgroundProcess("/usr/bin/env", ["python3", "-c", script, daemon.datagram] + messages)
        XCTAssertEqual(sender.wait(), 0, sender.stderrText)
        XCTAssertEqual(try Journal.entries(identifier: identifier, atLeast: 3).count, 3)

        let all: Set = ["do-nuts", "connection refused", "plain old syslog"]
        let expected: [String: Set<String>] = [
            "journalctl -t myproc SYSLOG_MSGID=ID47": ["do-nuts"],
            "journalctl -t myproc SYSLOG_HOSTNAME=192.0.2.1": ["do-nuts"],
            "journalctl -t myproc ORIGIN_32473_IP=192.0.2.1": ["do-nuts"],
            "journalctl -t myproc SYSLOG_FACILITY=20 -p err": ["connection refused"],
            "journalctl -t myproc JB_PID=4321": all,
            "journalctl -t myproc -o json --output-fields=MESSAGE,SYSLOG_PID,JB_PID,SYSLOG_TIMESTAMP": all,
        ]
        let documented = try recipes()
        XCTAssertEqual(Set(documented), Set(expected.keys), "docs/journalctl.md and this test list the same recipes")
        for recipe in documented {
            let command = recipe.replacingOccurrences(of: "myproc", with: identifier).replacingOccurrences(
                of: "4321", with: String(sender.pid))
            let result = try Run.command(
                "/bin/sh", ["-c", command], environment: ["SYSTEMD_PAGER": "", "PAGER": "cat"])
            XCTAssertEqual(result.status, 0, "\(recipe): \(result.stderrText)")
            let found: Set<String>
            if recipe.contains("-o json") {
                let objects = result.stdout.split(separator: UInt8(ascii: "\n")).compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
                }
                found = Set(objects.compactMap { $0["MESSAGE"] as? String })
                for object in objects {
                    XCTAssertEqual(object["JB_PID"] as? String, String(sender.pid), "the kernel's pid")
                    XCTAssertTrue(["8710", "8711", "99"].contains(object["SYSLOG_PID"] as? String ?? ""), "the claim")
                }
            } else {
                found = Set(
                    result.stdoutText.split(separator: "\n").compactMap { line in
                        line.range(of: "]: ").map { String(line[$0.upperBound...]) }
                    })
            }
            XCTAssertEqual(found, expected[recipe], recipe)
        }
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
    }
}
