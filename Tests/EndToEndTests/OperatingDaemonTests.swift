import Foundation
import JournalBridge
import JournalBridgeTestSupport
import Logging
import XCTest

/// The daemon as an operator sees it: `journal-bridge status` (table, JSON, Prometheus) against
/// what the files hold, the metrics textfile, a reload under load, and the health records.
final class OperatingDaemonTests: XCTestCase {
    private func configuration(_ directory: TemporaryDirectory, errorLevel: String, extra: String = "") -> String {
        """
        socket = "\(directory.file("jb.sock"))"
        base = "\(directory.file("logs/app"))"
        error_file_level = "\(errorLevel)"
        metrics_textfile = "\(directory.file("metrics.prom"))"
        metrics_interval = 1
        \(extra)
        """
    }

    private func status(_ socket: String, _ flag: String?) throws -> String {
        let result = try Run.journalBridge(["status", "--socket", socket] + (flag.map { [$0] } ?? []))
        XCTAssertEqual(result.status, 0, result.stderrText)
        return result.stdoutText
    }

    func testStatusAgreesWithTheFilesAndAReloadAppliesUnderLoadWithNothingLost() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("jb.sock")
        let path = directory.file("jb.conf")
        try configuration(directory, errorLevel: "warning").write(toFile: path, atomically: true, encoding: .utf8)
        let daemon = try BackgroundProcess(Run.journalBridge, ["collect", "--config", path])
        defer { if daemon.isRunning { daemon.signal(SIGKILL); _ = daemon.wait() } }
        XCTAssertTrue(eventually { FileManager.default.fileExists(atPath: socket + ".control") }, daemon.stderrText)
        var info = stat()
        XCTAssertEqual(lstat(socket + ".control", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o660, "the control socket has the main socket's mode")

        let identifier = Journal.uniqueIdentifier("jbops")
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(
                socketPath: socket, identifier: identifier, overflow: .block, flushAtExit: nil))
        for index in 0..<200 {
            shipper.enqueue(LogRecord(level: index % 2 == 0 ? .info : .warning, message: "first \(index)"))
        }
        XCTAssertTrue(shipper.flush(timeout: 30))

        // Status in its three forms, against the files (the daemon's own records are lines too).
        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(try status(socket, "--json").utf8)) as? [String: Any])
        let sinks = try XCTUnwrap(json["sinks"] as? [String: [String: Any]])
        let prometheus = try status(socket, "--prometheus")
        for (name, file) in [("error-file", "logs/app_error.log"), ("debug-file", "logs/app_debug.log")] {
            let written = try XCTUnwrap(sinks[name]?["written"] as? Int, name)
            XCTAssertEqual(written, directory.lines(file).count, name)
            XCTAssertEqual(sinks[name]?["routed"] as? Int, written, "nothing dropped or in flight: \(name)")
            XCTAssertTrue(
                prometheus.contains("journal_bridge_sink_written_total{sink=\"\(name)\"} \(written)\n"), prometheus)
        }
        XCTAssertEqual((sinks["error-file"]?["written"] as? Int), 100)
        let sources = try XCTUnwrap(json["sources"] as? [[String: Any]])
        let mine = try XCTUnwrap(sources.first { $0["identifier"] as? String == identifier })
        XCTAssertEqual(mine["received"] as? Int, 200)
        XCTAssertTrue(try status(socket, nil).contains("error-file"))
        XCTAssertTrue(
            eventually(timeout: 10) {
                (try? String(contentsOfFile: directory.file("metrics.prom"), encoding: .utf8))?.contains(
                    "journal_bridge_sink_written_total{sink=\"error-file\"}") == true
            }, "the textfile is written")

        // Reload under load: WARNING stops reaching the error file, ERROR still does; nothing lost.
        let stopLoad = ConditionFlag()
        let load = Thread {
            var index = 0
            while !stopLoad.isSet {
                shipper.enqueue(LogRecord(level: .info, message: "load \(index)"))
                index += 1
                if index % 100 == 0 { usleep(1000) }
            }
            stopLoad.count = index
        }
        load.start()
        usleep(200_000)
        try configuration(
            directory, errorLevel: "error",
            extra: "rate_limit_burst = 2000\nrate_limit_interval = 1\nrate_limit_key = \"identifier\"\n"
        ).write(toFile: path, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        XCTAssertTrue(
            eventually(timeout: 10) { daemon.stderrText.contains("configuration reloaded") }, daemon.stderrText)
        XCTAssertTrue(daemon.stderrText.contains("applied rate_limit, error_file_level"), daemon.stderrText)
        shipper.enqueue(LogRecord(level: .warning, message: "after reload warning"))
        shipper.enqueue(LogRecord(level: .error, message: "after reload error"))
        usleep(200_000)
        stopLoad.set()
        while !load.isFinished { usleep(10_000) }
        XCTAssertTrue(shipper.flush(timeout: 30))
        let errorLines = directory.lines("logs/app_error.log")
        XCTAssertTrue(errorLines.contains { $0.hasSuffix("after reload error") })
        XCTAssertFalse(errorLines.contains { $0.hasSuffix("after reload warning") }, "the new threshold applies")
        let debugText = try String(contentsOfFile: directory.file("logs/app_debug.log"), encoding: .utf8)
        let loaded = Set(
            debugText.split(separator: "\n").compactMap { line in
                line.range(of: "INFO : load ").map { String(line[$0.upperBound...]) }
            })
        // The new limit applies too: every load record is in the debug file or counted as rate-limited.
        let counted = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(try status(socket, "--json").utf8)) as? [String: Any])
        let source = try XCTUnwrap(
            (counted["sources"] as? [[String: Any]])?.first { $0["identifier"] as? String == identifier })
        let limited = try XCTUnwrap((source["dropped"] as? [String: Int])?["rate_limited"])
        XCTAssertGreaterThan(limited, 0, "the new rate limit applies")
        XCTAssertEqual(source["duplicates"] as? Int, 0)
        XCTAssertEqual(
            loaded.count + limited, stopLoad.count,
            "every record sent during the reload is in the debug file or counted as limited")
        XCTAssertTrue(daemon.isRunning)

        // A bad file: refused with file:line: key, counted, the old configuration stays.
        try (configuration(directory, errorLevel: "error") + "\nmax_bytes = \"big\"\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        XCTAssertTrue(eventually(timeout: 10) { daemon.stderrText.contains("reload refused") }, daemon.stderrText)
        XCTAssertTrue(daemon.stderrText.contains("\(path):7: max_bytes"), daemon.stderrText)
        let after = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(try status(socket, "--json").utf8)) as? [String: Any])
        XCTAssertEqual((after["reloads"] as? [String: Int])?["failed"], 1)
        XCTAssertEqual((after["reloads"] as? [String: Int])?["applied"], 1)
        shipper.shutdown()

        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.wait(), 0, daemon.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket + ".control"))

        // The health records, found by their MESSAGE_ID.
        for (id, words) in [
            ("452847cfd1ee49378b17e5c40c5f047c", "started"), ("8520534ffaa044289096cfba05ccdaa4", "error_file_level"),
            ("d714d558081f4b78bd4d345fdfa513bd", "max_bytes"), ("6482caf4afda469ea41961693d7dce4d", "stopping"),
        ] {
            let entries = try Journal.entries(["MESSAGE_ID=\(id)", "_PID=\(daemon.pid)"])
            XCTAssertEqual(entries.count, 1, id)
            XCTAssertTrue(
                entries.first?["MESSAGE"]?.contains(words) == true, "\(id): \(entries.first?["MESSAGE"] ?? "none")")
        }
    }
}

extension OperatingDaemonTests {
    /// Under socket activation the control channel is the second socket systemd passes (fd 4),
    /// and STATUS= carries the one-line summary every `metrics_interval` seconds.
    func testActivatedControlSocketAndStatusLine() throws {
        let directory = try TemporaryDirectory()
        let notify = try NotifyListener(path: directory.file("notify.sock"))
        let socket = directory.file("activated.sock")
        let path = directory.file("jb.conf")
        try
            "base = \"\(directory.file("logs/jb"))\"\njournald = false\nmetrics_interval = 1\nsocket = \"\(directory.file("not-this.sock"))\"\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let activator = try BackgroundProcess(
            "/usr/bin/systemd-socket-activate",
            [
                "-E", "NOTIFY_SOCKET", "-l", socket, "-l", socket + ".control", Run.journalBridge, "collect",
                "--config", path,
            ],
            environment: ["NOTIFY_SOCKET": notify.path]
        )
        defer { if activator.isRunning { activator.signal(SIGKILL); _ = activator.wait() } }
        XCTAssertTrue(eventually { FileManager.default.fileExists(atPath: socket + ".control") }, activator.stderrText)
        let sent = try Run.journalBridge(["send", "--socket", socket, "--timeout", "20", "through an activated socket"])
        XCTAssertEqual(sent.status, 0, sent.stderrText + activator.stderrText)
        let result = try Run.journalBridge(["status", "--socket", socket, "--json"])
        XCTAssertEqual(result.status, 0, result.stderrText + activator.stderrText)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdoutText.utf8)) as? [String: Any])
        let sinks = try XCTUnwrap(json["sinks"] as? [String: [String: Any]])
        XCTAssertEqual(sinks["debug-file"]?["written"] as? Int, 1)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: directory.file("not-this.sock.control")), "did not bind its own")
        XCTAssertTrue(
            eventually(timeout: 10) {
                notify.messages.contains { $0.hasPrefix("STATUS=") && $0.contains("1 records received") }
            }, "\(notify.messages)"
        )
        activator.signal(SIGTERM)
        XCTAssertEqual(activator.wait(), 0, activator.stderrText)
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: socket + ".control"),
            "an activated socket belongs to systemd: not unlinked")
    }
}

/// A flag and a count shared with a thread.
private final class ConditionFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    private var value = 0
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return flag }
    func set() { lock.lock(); flag = true; lock.unlock() }
    var count: Int {
        get { lock.lock(); defer { lock.unlock() }; return value }
        set { lock.lock(); value = newValue; lock.unlock() }
    }
}
