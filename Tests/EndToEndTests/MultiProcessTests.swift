import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

/// Real worker processes, a real collector, the real journald and real files.
final class MultiProcessTests: XCTestCase {
    private struct Key: Hashable {
        var worker: String
        var index: Int
    }

    /// `worker-3 message 17` -> (worker-3, 17)
    private func key(_ text: Substring) -> Key? {
        let words = text.split(separator: " ")
        guard words.count == 3, words[1] == "message", let index = Int(words[2]) else { return nil }
        return Key(worker: String(words[0]), index: index)
    }

    func testTenWorkersThousandsOfRecordsEachStoredExactlyOnce() throws {
        let identifier = Journal.uniqueIdentifier("jbmulti")
        let fixture = try CollectorFixture(
            files: "multi", journaldLevel: .trace,
            sinks: { sinks in
                sinks.maxBytes = 64 * 1024
                sinks.backupCount = 10_000
            })
        let (directory, socketPath, collector) = (fixture.directory, fixture.socketPath, fixture.collector)

        let workers = 10
        let messages = 500
        var pids: [String: Int32] = [:]
        var processes: [BackgroundProcess] = []
        for worker in 1...workers {
            let process = try BackgroundProcess(
                Run.journalBridge,
                [
                    "demo-worker", "--socket", socketPath, "--worker", "\(worker)", "--messages", "\(messages)",
                    "--max-sleep", "0", "--identifier", identifier,
                ])
            pids["worker-\(worker)"] = process.pid
            processes.append(process)
        }
        for process in processes {
            XCTAssertEqual(process.finish(), 0, process.stderrText)
        }
        collector.stop()
        let total = workers * messages

        // journald: every record once, attributed to the worker that logged it.
        let entries = try Journal.entries(identifier: identifier, atLeast: total, timeout: 60)
        XCTAssertEqual(entries.count, total)
        var levels: [Key: String] = [:]
        for entry in entries {
            guard let message = entry["MESSAGE"], let key = key(Substring(message)) else {
                XCTFail("unexpected entry \(entry.fields.keys)")
                continue
            }
            XCTAssertNil(levels[key], "duplicate \(key)")
            levels[key] = entry["PRIORITY"]
            XCTAssertEqual(entry["SYSLOG_PID"], pids[key.worker].map(String.init), "\(key)")
            XCTAssertEqual(entry["_PID"], String(getpid()), "journald sees the collector; SYSLOG_PID names the worker")
            XCTAssertEqual(entry["WORKER"], key.worker)
            XCTAssertEqual(entry["INDEX"], String(key.index))
            XCTAssertEqual(entry["LOGGER_LABEL"], "demo.\(key.worker)")
            XCTAssertEqual(entry["CODE_FUNC"], "logMessages(name:socket:identifier:messages:maxSleep:)")
            XCTAssertNotNil(entry["CODE_FILE"])
            XCTAssertNotNil(entry["CODE_LINE"])
            XCTAssertNotNil(entry["JB_SEQ"])
            XCTAssertEqual(entry["JB_UID"], String(getuid()))
        }
        XCTAssertEqual(levels.count, total)

        // Files, current and rotated: every record once in debug, exactly the WARNING+ ones in error.
        func records(_ prefix: String) -> [Key: String] {
            var found: [Key: String] = [:]
            for line in directory.rotated(prefix).lines() {
                // [date time] LEVEL : worker-N message I
                guard let colon = line.range(of: " : "), let key = key(line[colon.upperBound...]) else { continue }
                let level = line[..<colon.lowerBound].split(separator: " ").last.map(String.init)!
                XCTAssertNil(found[key], "duplicate \(key) in \(prefix)")
                found[key] = level
            }
            return found
        }
        XCTAssertGreaterThan(directory.rotated("multi_debug.log").copyCount, 3, "rotation happened")
        let debug = records("multi_debug.log")
        let error = records("multi_error.log")
        XCTAssertEqual(debug.count, total)
        let priorities = ["DEBUG": "7", "INFO": "6", "WARNING": "4", "ERROR": "3", "CRITICAL": "2"]
        for (key, level) in debug { XCTAssertEqual(priorities[level], levels[key], "\(key)") }
        let warningOrAbove = Set(levels.filter { Int($0.value)! <= 4 }.keys)
        XCTAssertEqual(Set(error.keys), warningOrAbove)
        XCTAssertGreaterThan(warningOrAbove.count, total / 4)
    }

    func testSendThroughTheCollectorExitsOnlyOnceAcknowledged() throws {
        let identifier = Journal.uniqueIdentifier()
        let fixture = try CollectorFixture(files: "s", journaldLevel: .trace)
        let (directory, socketPath, collector) = (fixture.directory, fixture.socketPath, fixture.collector)
        let lines = (1...2000).map { "stdin line \($0)" }.joined(separator: "\n") + "\n"
        let result = try Run.journalBridge(
            [
                "send", "--socket", socketPath, "--identifier", identifier, "--level", "warning", "--field", "batch=b1",
                "-",
            ],
            stdin: Array(lines.utf8)
        )
        XCTAssertEqual(result.status, 0, result.stderrText)
        // Acknowledged means written: the files hold every line before the collector stops.
        XCTAssertEqual(directory.lines("s_error.log").count, 2000)
        collector.stop()
        let entries = try Journal.entries(identifier: identifier, atLeast: 2000)
        XCTAssertEqual(entries.map { $0["MESSAGE"]! }, (1...2000).map { "stdin line \($0)" })
        XCTAssertEqual(Set(entries.map { $0["PRIORITY"]! }), ["4"])
        XCTAssertEqual(Set(entries.map { $0["BATCH"]! }), ["b1"])
        XCTAssertEqual(Set(entries.map { $0["SYSLOG_PID"]! }).count, 1)
        XCTAssertNotEqual(entries[0]["SYSLOG_PID"], String(getpid()))

        // Environment variable, no collector there: gives up after --timeout with a message, exit 1.
        let absent = try Run.journalBridge(
            ["send", "--timeout", "0.5", "unheard"],
            environment: ["JOURNAL_BRIDGE_SOCKET": directory.file("nobody.sock")]
        )
        XCTAssertEqual(absent.status, 1)
        XCTAssertTrue(absent.stderrText.contains("nobody.sock"), absent.stderrText)
        XCTAssertTrue(absent.stderrText.contains("1 records not acknowledged"), absent.stderrText)
    }

    func testDemoPrintsItsSummaryAndTheRecordsAreStored() throws {
        let directory = try TemporaryDirectory()
        let identifier = Journal.uniqueIdentifier("jbdemo")
        let result = try Run.journalBridge([
            "demo", "--max-sleep", "0.01", "--base", directory.file("demo"), "--identifier", identifier, "--max-bytes",
            "0",
        ])
        XCTAssertEqual(result.status, 0, result.stderrText)
        XCTAssertTrue(
            result.stdoutText.contains("journal-bridge demo: 110 records from 11 processes"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.contains("debug-file 110 (DEBUG+)"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.contains("journalctl -t \(identifier)"), result.stdoutText)
        let entries = try Journal.entries(identifier: identifier, atLeast: 110)
        XCTAssertEqual(entries.count, 110)
        XCTAssertEqual(Set(entries.map { $0["SYSLOG_PID"]! }).count, 11, "10 workers and the main process")
        XCTAssertEqual(directory.lines("demo_debug.log").count, 110)
        let warnings = entries.filter { Int($0["PRIORITY"]!)! <= 4 }.count
        XCTAssertEqual(directory.lines("demo_error.log").count, warnings)
        let console = result.stderrText.split(separator: "\n").filter { $0.hasPrefix("[") }
        XCTAssertEqual(console.count, entries.filter { Int($0["PRIORITY"]!)! <= 6 }.count, "console at INFO+")
    }
}
