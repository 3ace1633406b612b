import Foundation
import JournalBridge
import JournalBridgeBenchmarks
import JournalBridgeCollector
import JournalBridgeTestSupport
import XCTest

/// docs/reliability.md's scenarios: faults injected while numbered records flow, every
/// file and journald checked for missing and duplicate numbers. CI runs the fast form;
/// `JB_RELIABILITY=full` runs the full sizes (docs/reliability.md has their figures).
final class ReliabilityTests: XCTestCase {
    static var full: Bool { ProcessInfo.processInfo.environment["JB_RELIABILITY"] == "full" }

    /// One line for docs/reliability.md: `RELIABILITY scenario=... key=value ...`.
    private func report(_ scenario: String, _ fields: [(String, Any)]) {
        print("RELIABILITY scenario=\(scenario) " + fields.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
    }

    private struct Setup {
        let directory: TemporaryDirectory
        let socket: String
        let identifier: String
        var base: String { directory.file("r") }
    }

    private func setup() throws -> Setup {
        let directory = try TemporaryDirectory()
        return Setup(
            directory: directory, socket: directory.file("c.sock"), identifier: Journal.uniqueIdentifier("jbrel"))
    }

    private func collect(_ setup: Setup, _ extra: [String] = [], listeningSocket: Int32? = nil) throws
        -> BackgroundProcess
    {
        let arguments = ["collect", "--socket", setup.socket, "--base", setup.base, "--no-console"] + extra
        // As systemd does: the socket as fd 3, LISTEN_FDS=1 and LISTEN_PID naming the daemon itself.
        let daemon =
            try listeningSocket.map { socket in
                try BackgroundProcess(
                    "/bin/sh", ["-c", "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" \"$@\"", Run.journalBridge] + arguments,
                    listeningSocket: socket
                )
            } ?? BackgroundProcess(Run.journalBridge, arguments)
        // Ready (its signals blocked): a SIGTERM sent before that would kill it outright.
        XCTAssertTrue(eventually { daemon.stderrText.contains("collecting on") }, daemon.stderrText)
        return daemon
    }

    /// Producers: `journal-bridge send --socket ... -` fed numbered lines.
    private func producers(_ setup: Setup, count: Int, records: Int, level: String = "info") throws -> (
        [BackgroundProcess], SequenceChecker
    ) {
        var expected: [String: Int] = [:]
        var processes: [BackgroundProcess] = []
        for index in 0..<count {
            let name = "p\(index)"
            expected[name] = records
            let input = setup.directory.file("\(name).in")
            try SequenceChecker.lines(producer: name, count: records).write(
                toFile: input, atomically: true, encoding: .utf8)
            processes.append(
                try BackgroundProcess(
                    Run.journalBridge,
                    [
                        "send", "--socket", setup.socket, "--identifier", setup.identifier, "--level", level,
                        "--timeout", "600", "-",
                    ],
                    stdin: input
                )
            )
        }
        return (processes, SequenceChecker(expected: expected))
    }

    /// Waits for the producers (each must exit 0: everything acknowledged), stops the daemon
    /// cleanly, and checks that neither the files nor journald miss a record.
    private func finish(
        _ setup: Setup, _ producers: [BackgroundProcess], _ daemon: BackgroundProcess, _ checker: SequenceChecker,
        line: UInt = #line
    ) throws -> (files: SequenceChecker.Report, journald: SequenceChecker.Report) {
        for producer in producers { XCTAssertEqual(producer.wait(timeout: 600), 0, producer.stderrText, line: line) }
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.wait(), 0, daemon.stderrText, line: line)
        let files = checker.checkFiles(directory: setup.directory.path, name: "r_debug.log")
        let journald = try checker.checkJournald(identifier: setup.identifier)
        XCTAssertEqual(files.missingCount, 0, "files: \(files)", line: line)
        XCTAssertEqual(journald.missingCount, 0, "journald: \(journald)", line: line)
        return (files, journald)
    }

    // MARK: 1. collector killed and restarted under load

    func testCollectorKilledAndRestartedUnderLoadLosesNothing() throws {
        let setup = try setup()
        let records = Self.full ? 100_000 : 10_000
        var daemon = try collect(setup, ["--max-bytes", "4000000", "--backup-count", "100000"])
        let (producers, checker) = try producers(setup, count: 10, records: records)
        let kills = 3
        for _ in 1...kills {
            Thread.sleep(forTimeInterval: Self.full ? 3 : 0.5)
            daemon.signal(SIGKILL)
            daemon.wait()
            daemon = try collect(setup, ["--max-bytes", "4000000", "--backup-count", "100000"])
        }
        let (files, journald) = try finish(setup, producers, daemon, checker)
        // At most what was written but not yet acknowledged at each kill: a sink queue's worth.
        let bound = kills * 16384 * 2
        XCTAssertLessThanOrEqual(files.duplicates, bound, "files: \(files)")
        XCTAssertLessThanOrEqual(journald.duplicates, bound, "journald: \(journald)")
        report(
            "kill-restart",
            [
                ("records", checker.expected.values.reduce(0, +)), ("kills", kills),
                ("missing_files", files.missingCount),
                ("missing_journald", journald.missingCount), ("duplicates_files", files.duplicates),
                ("duplicates_journald", journald.duplicates),
            ])
    }

    // MARK: 2. clean restart (package upgrade) with socket activation

    func testCleanRestartWithSocketActivationLosesAndDoublesNothing() throws {
        let setup = try setup()
        let records = Self.full ? 100_000 : 10_000
        // The test holds the listening socket across restarts, as systemd's journal-bridge.socket does.
        let listener = try UnixSocket.listen(path: setup.socket)
        defer { close(listener) }
        var daemon = try collect(setup, listeningSocket: listener)
        XCTAssertTrue(eventually { daemon.stderrText.contains("from systemd") }, daemon.stderrText)
        let (producers, checker) = try producers(setup, count: 10, records: records)
        let restarts = 2
        for _ in 1...restarts {
            Thread.sleep(forTimeInterval: Self.full ? 3 : 0.5)
            daemon.signal(SIGTERM)
            XCTAssertEqual(daemon.wait(), 0, daemon.stderrText)
            daemon = try collect(setup, listeningSocket: listener)
        }
        let (files, journald) = try finish(setup, producers, daemon, checker)
        XCTAssertEqual(files.duplicates, 0, "files: \(files)")
        XCTAssertEqual(journald.duplicates, 0, "journald: \(journald)")
        report(
            "clean-restart",
            [
                ("records", checker.expected.values.reduce(0, +)), ("restarts", restarts),
                ("missing", files.missingCount + journald.missingCount),
                ("duplicates", files.duplicates + journald.duplicates),
            ])
    }

    // MARK: 4. rotation under load with SIGHUP every 100 ms

    func testRotationAndReopenEvery100msUnderLoad() throws {
        let setup = try setup()
        let records = Self.full ? 100_000 : 30_000
        let daemon = try collect(
            setup, ["--no-journald", "--max-bytes", Self.full ? "262144" : "65536", "--backup-count", "1000000"])
        let (producers, checker) = try producers(setup, count: 10, records: records)
        var hups = 0
        while producers.contains(where: { $0.isRunning }) {
            daemon.signal(SIGHUP)
            hups += 1
            Thread.sleep(forTimeInterval: 0.1)
        }
        for producer in producers { XCTAssertEqual(producer.wait(), 0, producer.stderrText) }
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.wait(), 0, daemon.stderrText)
        let files = checker.checkFiles(directory: setup.directory.path, name: "r_debug.log")
        XCTAssertEqual(files.missingCount, 0, "\(files)")
        XCTAssertEqual(files.duplicates, 0, "\(files)")
        let rotated = setup.directory.rotated("r_debug.log").copyCount
        XCTAssertGreaterThan(rotated, 5)
        report(
            "rotation-hup",
            [
                ("records", checker.expected.values.reduce(0, +)), ("hups", hups), ("rotated_files", rotated),
                ("missing", files.missingCount), ("duplicates", files.duplicates),
            ])
    }

    // MARK: 6. one flooding client beside nine normal ones

    func testFloodingClientDoesNotDelayTheOthersWarnings() throws {
        let setup = try setup()
        let daemon = try collect(setup, ["--no-journald", "--max-bytes", "0"])
        defer {
            daemon.signal(SIGTERM)
            daemon.wait()
        }
        let flood = RecordShipper(
            configuration: ShipperConfiguration(
                socketPath: setup.socket, identifier: "flood", overflow: .block, flushAtExit: nil)
        )
        let flooding = ManagedAtomicFlag()
        let floodThread = Thread {
            var n = 0
            while !flooding.isSet {
                n += 1
                flood.enqueue(
                    LogRecord(
                        level: .debug, message: "flood seq:\(n) " + String(repeating: "f", count: 200),
                        origin: .unattributed))
            }
        }
        floodThread.start()
        Thread.sleep(forTimeInterval: 0.5)
        // Nine normal clients, one after another and each a fresh process, log a WARNING and
        // wait for its acknowledgement (written to every sink) while the flood goes on.
        var delays: [Double] = []
        for index in 0..<9 {
            let started = Date()
            let result = try Run.journalBridge([
                "send", "--socket", setup.socket, "--identifier", setup.identifier, "--level", "warning", "--timeout",
                "30", "n\(index) seq:1",
            ])
            delays.append(Date().timeIntervalSince(started))
            XCTAssertEqual(result.status, 0, result.stderrText)
        }
        flooding.set()
        XCTAssertTrue(flood.flush(timeout: 60))
        flood.shutdown()
        let floodCount = flood.statistics.enqueued
        let bound = 2.0  // seconds from process start to acknowledged, with a process start (~50 ms) inside
        let worst = delays.max() ?? 0
        XCTAssertLessThan(worst, bound, "\(delays)")
        let checker = SequenceChecker(expected: Dictionary(uniqueKeysWithValues: (0..<9).map { ("n\($0)", 1) }))
        let errorFile = checker.checkFiles(directory: setup.directory.path, name: "r_error.log")
        XCTAssertEqual(errorFile.missingCount, 0, "\(errorFile)")
        report(
            "flood",
            [
                ("flood_records", floodCount), ("normal_clients", 9),
                ("worst_ack_seconds", String(format: "%.3f", worst)),
                ("median_ack_seconds", String(format: "%.3f", delays.sorted()[4])), ("bound_seconds", bound),
            ])
    }

    // MARK: 8. who may log

    func testOnlyTheSocketGroupMayLogAndIdentityComesFromTheKernel() throws {
        let setup = try setup()
        chmod(setup.directory.path, 0o755)
        let daemon = try collect(setup, ["--no-files", "--socket-group", "adm", "--socket-mode", "0660"])
        defer {
            daemon.signal(SIGTERM)
            daemon.wait()
        }
        var info = stat()
        XCTAssertEqual(stat(setup.socket, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o660)
        XCTAssertEqual(info.st_gid, getgrnam("adm").pointee.gr_gid)

        let outsider = try BackgroundProcess(
            "/usr/bin/setpriv",
            [
                "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", Run.journalBridge, "send", "--socket",
                setup.socket,
                "--identifier", setup.identifier, "--timeout", "2", "from outside the group",
            ]
        )
        XCTAssertEqual(outsider.wait(), 1)
        XCTAssertTrue(outsider.stderrText.contains("Permission denied"), outsider.stderrText)

        let member = try BackgroundProcess(
            "/usr/bin/setpriv",
            [
                "--reuid", "nobody", "--regid", "nogroup", "--groups", "adm", Run.journalBridge, "send", "--socket",
                setup.socket,
                "--identifier", setup.identifier, "--timeout", "20", "--field", "SYSLOG_PID=1", "--field", "_UID=0",
                "from a member of the group",
            ]
        )
        XCTAssertEqual(member.wait(), 0, member.stderrText)
        let entries = try Journal.entries(identifier: setup.identifier, atLeast: 1)
        XCTAssertEqual(entries.count, 1, "the outsider's record never arrived")
        let entry = try XCTUnwrap(entries.first)
        XCTAssertEqual(entry["MESSAGE"], "from a member of the group")
        XCTAssertEqual(entry["SYSLOG_PID"], String(member.pid), "from SO_PEERCRED, not the payload")
        XCTAssertEqual(entry["JB_UID"], String(getpwnam("nobody").pointee.pw_uid))
        XCTAssertEqual(entry["JB_GID"], String(getgrnam("nogroup").pointee.gr_gid))
        XCTAssertEqual(entry["META_SYSLOG_PID"], "1", "a claimed pid is kept aside, harmless")
        XCTAssertEqual(entry["UID"], "0", "a claimed _UID becomes a plain field")
        report("who-may-log", [("outsider_refused", true), ("identity_from", "SO_PEERCRED")])
    }
}

extension ReliabilityTests {
    // MARK: 3. journald absent, then back

    /// The daemon runs in a mount namespace where a tmpfs hides journald's socket until the
    /// test touches a trigger file; then the tmpfs is unmounted and journald is back.
    private func collectWithoutJournald(_ setup: Setup, _ extra: [String]) throws -> (
        BackgroundProcess, pidFile: String, trigger: String
    ) {
        let pidFile = setup.directory.file("daemon.pid")
        let trigger = setup.directory.file("journald-back")
        let script = """
            mount -t tmpfs none /run/systemd/journal || exit 99
            "$0" "$@" & echo $! > \(pidFile)
            while [ ! -e \(trigger) ]; do sleep 0.05; done
            umount /run/systemd/journal
            wait
            """
        let process = try BackgroundProcess(
            "/usr/bin/unshare",
            [
                "-m", "sh", "-c", script, Run.journalBridge, "collect", "--socket", setup.socket, "--base", setup.base,
                "--no-console",
                "--max-bytes", "0",
            ] + extra
        )
        XCTAssertTrue(eventually { FileManager.default.fileExists(atPath: setup.socket) }, process.stderrText)
        return (process, pidFile, trigger)
    }

    private func daemonPID(_ pidFile: String) -> pid_t {
        pid_t(
            (try? String(contentsOfFile: pidFile, encoding: .utf8))?.split(separator: "\n").first.map(String.init) ?? ""
        ) ?? 0
    }

    func testJournaldAbsentThenBackLosesNothingWithinTheBacklog() throws {
        let setup = try setup()
        // Within the default backlog of 100,000 records.
        let records = Self.full ? 9_000 : 2_000
        let (wrapper, pidFile, trigger) = try collectWithoutJournald(setup, [])
        try XCTSkipIf(wrapper.stderrText.contains("unshare failed"), "no mount namespaces here")
        let (producers, checker) = try producers(setup, count: 10, records: records)
        for producer in producers { XCTAssertEqual(producer.wait(timeout: 300), 0, producer.stderrText) }

        // Acknowledged: the files have everything; journald nothing yet.
        let files = checker.checkFiles(directory: setup.directory.path, name: "r_debug.log")
        XCTAssertEqual(files.missingCount, 0, "\(files)")
        XCTAssertEqual(try Journal.query(["-t", setup.identifier]).count, 0, "journald is away")
        XCTAssertTrue(wrapper.stderrText.contains("journald is not running"), wrapper.stderrText)

        _ = FileManager.default.createFile(atPath: trigger, contents: nil)
        let journald = try checker.checkJournald(identifier: setup.identifier, timeout: 60)
        kill(daemonPID(pidFile), SIGTERM)
        XCTAssertEqual(wrapper.wait(), 0, wrapper.stderrText)
        XCTAssertEqual(journald.missingCount, 0, "\(journald)")
        XCTAssertEqual(journald.duplicates, 0, "\(journald)")
        XCTAssertEqual(
            wrapper.stderrText.components(separatedBy: "journald is not running").count - 1, 1,
            "said once: \(wrapper.stderrText)")
        report(
            "journald-away",
            [
                ("records", 10 * records), ("backlog", 100_000), ("missing_files", 0),
                ("missing_journald", journald.missingCount), ("duplicates", journald.duplicates),
            ])
    }

    func testJournaldAbsentPastTheBacklogCountsAndReportsTheLoss() throws {
        let setup = try setup()
        let records = 2_000
        let backlog = 5_000
        let (wrapper, pidFile, trigger) = try collectWithoutJournald(setup, ["--journald-backlog", "\(backlog)"])
        try XCTSkipIf(wrapper.stderrText.contains("unshare failed"), "no mount namespaces here")
        let (producers, checker) = try producers(setup, count: 10, records: records)
        for producer in producers { XCTAssertEqual(producer.wait(timeout: 300), 0, producer.stderrText) }
        XCTAssertEqual(
            checker.checkFiles(directory: setup.directory.path, name: "r_debug.log").missingCount, 0,
            "the files keep every record")

        _ = FileManager.default.createFile(atPath: trigger, contents: nil)
        let lost = 10 * records - backlog
        let said = try Journal.entries(
            ["-t", "journal-bridge", "_PID=\(daemonPID(pidFile))", "LOST=\(lost)"], atLeast: 1, timeout: 30)
        XCTAssertEqual(said.count, 1)
        XCTAssertTrue(
            said.first?["MESSAGE"]?.contains("\(lost) records were lost for journald while it was away") == true)
        let journald = try checker.checkJournald(identifier: setup.identifier, timeout: 10)
        kill(daemonPID(pidFile), SIGTERM)
        XCTAssertEqual(wrapper.wait(), 0, wrapper.stderrText)
        XCTAssertEqual(journald.found, backlog, "the newest \(backlog) reached journald")
        XCTAssertEqual(journald.missingCount, lost)
        XCTAssertTrue(
            wrapper.stderrText.contains("recovered; \(lost) records could not be written"), wrapper.stderrText)
        report(
            "journald-away-past-backlog",
            [("records", 10 * records), ("backlog", backlog), ("lost_for_journald", lost), ("reported", true)])
    }

    // MARK: 5. disk full

    func testDiskFullIsReportedOnceJournaldKeepsEverythingAndWritingResumes() throws {
        let setup = try setup()
        let logs = setup.directory.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let mounted = try Run.command("/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "none", logs])
        try XCTSkipIf(mounted.status != 0, "cannot mount a tmpfs here: \(mounted.stderrText)")
        defer { _ = try? Run.command("/bin/umount", ["-l", logs]) }
        let daemon = try BackgroundProcess(
            Run.journalBridge,
            ["collect", "--socket", setup.socket, "--base", logs + "/r", "--no-console", "--max-bytes", "0"]
        )
        XCTAssertTrue(eventually { daemon.stderrText.contains("collecting on") }, daemon.stderrText)
        let records = 2_000
        let (producers, checker) = try producers(setup, count: 10, records: records)
        for producer in producers { XCTAssertEqual(producer.wait(timeout: 300), 0, producer.stderrText) }
        XCTAssertEqual(
            daemon.stderrText.components(separatedBy: "No space left on device").count - 1, 1,
            "reported once: \(daemon.stderrText)")

        // Space returns; the next records are written again.
        XCTAssertEqual(try Run.command("/bin/mount", ["-o", "remount,size=64m", logs]).status, 0)
        let after = SequenceChecker(expected: ["late": 500])
        let input = setup.directory.file("late.in")
        try SequenceChecker.lines(producer: "late", count: 500).write(toFile: input, atomically: true, encoding: .utf8)
        let late = try BackgroundProcess(
            Run.journalBridge,
            ["send", "--socket", setup.socket, "--identifier", setup.identifier, "--timeout", "60", "-"], stdin: input
        )
        XCTAssertEqual(late.wait(), 0, late.stderrText)
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.wait(), 0, daemon.stderrText)

        let files = checker.checkFiles(directory: logs, name: "r_debug.log")
        XCTAssertEqual(after.checkFiles(directory: logs, name: "r_debug.log").missingCount, 0, "writing resumed")
        // "recovered; N records could not be written", or at the latest at stop "N records could not be written".
        let count = daemon.stderrText.split(separator: "\n").filter { $0.hasSuffix("records could not be written") }.map
        { line -> Int in
            let words = line.split(separator: " ")
            return Int(words[words.count - 6]) ?? -1
        }.reduce(0, +)
        XCTAssertEqual(
            count, files.missingCount, "the records not written are counted and reported: \(daemon.stderrText)")
        XCTAssertGreaterThan(files.missingCount, 0)
        XCTAssertEqual(files.duplicates, 0)
        let lines = (try? String(contentsOfFile: logs + "/r_debug.log", encoding: .utf8))?.split(separator: "\n") ?? []
        XCTAssertTrue(lines.allSatisfy { $0.contains(" seq:") && $0.hasPrefix("[") }, "every line whole")
        let journald = try checker.checkJournald(identifier: setup.identifier)
        XCTAssertEqual(journald.missingCount, 0, "journald kept receiving: \(journald)")
        report(
            "disk-full",
            [
                ("records", 10 * records + 500), ("not_written_reported", count),
                ("missing_journald", journald.missingCount),
            ])
    }

    // MARK: 9. soak

    func testSoakMemoryStaysFlat() throws {
        let setup = try setup()
        let perProducer = Self.full ? 1_000_000 : 30_000
        let daemon = try collect(setup, ["--max-bytes", "10000000", "--backup-count", "1000"])
        let (producers, checker) = try producers(setup, count: 10, records: perProducer)
        let total = 10 * perProducer
        let early = Self.full ? 1_000_000 : total / 3
        func written() -> Int {
            setup.directory.rotated("r_debug.log").totalBytes / 45  // about 45 bytes a line
        }
        XCTAssertTrue(eventually(timeout: 900) { written() >= early })
        let rssEarly = ProcessMemory.residentBytes(of: daemon.pid)
        for producer in producers { XCTAssertEqual(producer.wait(timeout: 3600), 0, producer.stderrText) }
        let rssEnd = ProcessMemory.residentBytes(of: daemon.pid)
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.wait(timeout: 600), 0, daemon.stderrText)
        let files = checker.checkFiles(directory: setup.directory.path, name: "r_debug.log")
        XCTAssertEqual(files.missingCount, 0, "\(files)")
        XCTAssertLessThanOrEqual(
            Double(rssEnd), Double(rssEarly) * 1.10, "RSS \(rssEarly) after \(early) records, \(rssEnd) at the end")
        report(
            "soak",
            [
                ("records", total), ("rss_after_first", "\(early):\(rssEarly / 1024) KiB"),
                ("rss_end_kib", rssEnd / 1024), ("missing_files", files.missingCount),
            ])
    }
}

/// A flag one thread sets and another polls.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
