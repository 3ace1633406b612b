import Foundation
import JournalBridge
import JournalBridgeTestSupport
import Logging
import XCTest

/// `journal-bridge collect` as a process: configuration errors, signals, socket activation, sd_notify.
final class DaemonTests: XCTestCase {
    func testConfigurationErrorsExit78NamingTheKeyAndTheProblem() throws {
        let directory = try TemporaryDirectory()
        let cases: [(text: String, mentions: [String])] = [
            ("colour = \"red\"\n", ["colour", "unknown key"]),
            ("max_bytes = \"big\"\n", ["max_bytes", "expected an integer"]),
            ("journald_level = \"loud\"\n", ["journald_level", "\"loud\" is not a level"]),
            ("base = \"/etc/passwd/logs/app\"\n", ["base", "not a directory"]),
        ]
        for (index, testCase) in cases.enumerated() {
            let path = directory.file("bad\(index).conf")
            try testCase.text.write(toFile: path, atomically: true, encoding: .utf8)
            for arguments in [
                ["check-config", path], ["collect", "--config", path, "--socket", directory.file("s\(index).sock")],
            ] {
                let result = try Run.journalBridge(arguments)
                XCTAssertEqual(result.status, 78, "\(arguments): \(result.stderrText)")
                for text in testCase.mentions {
                    XCTAssertTrue(result.stderrText.contains(text), "\(arguments): \(result.stderrText)")
                }
                XCTAssertTrue(result.stderrText.contains("\(path):1: "), "file and line: \(result.stderrText)")
                XCTAssertFalse(result.stderrText.contains("Usage"), result.stderrText)
            }
        }
        let missing = try Run.journalBridge(["check-config", directory.file("absent.conf")])
        XCTAssertEqual(missing.status, 78)
        XCTAssertTrue(missing.stderrText.contains("cannot read the file"), missing.stderrText)

        let good = directory.file("good.conf")
        try "base = \"\(directory.file("logs/app"))\"\n".write(toFile: good, atomically: true, encoding: .utf8)
        let ok = try Run.journalBridge(["check-config", good])
        XCTAssertEqual(ok.status, 0, ok.stderrText)
        XCTAssertTrue(ok.stdoutText.contains("OK"), ok.stdoutText)
    }

    /// Runs journal-bridge to its end, bounded: a run that hangs is killed (status 137) instead of hanging the test.
    private func runBounded(_ arguments: [String], timeout: TimeInterval = 15) throws -> (status: Int32, stderr: String)
    {
        let process = try BackgroundProcess(Run.journalBridge, arguments)
        let status = process.wait(timeout: timeout)
        _ = eventually(timeout: 5) { process.stderrText.hasSuffix("\n") }
        return (status, process.stderrText)
    }

    private func assertOneLine(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(text.split(separator: "\n").count, 1, "one line: \(text)", file: file, line: line)
        XCTAssertTrue(text.hasPrefix("journal-bridge: "), text, file: file, line: line)
        XCTAssertFalse(text.contains("Usage"), "no usage text: \(text)", file: file, line: line)
    }

    func testAConfigurationPathThatIsNotARegularFileExits78AtOnce() throws {
        let directory = try TemporaryDirectory()
        let fifo = directory.file("fifo.conf")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // A directory used to pass as an empty file; a FIFO hung; /dev/zero ate memory.
        for (path, kind) in [(directory.path, "a directory"), (fifo, "a FIFO"), ("/dev/zero", "a character device")] {
            for arguments in [
                ["check-config", path], ["collect", "--config", path, "--socket", directory.file("s.sock")],
            ] {
                let (status, stderr) = try runBounded(arguments)
                XCTAssertEqual(status, 78, "\(arguments): \(stderr)")
                XCTAssertTrue(
                    stderr.contains("\(path): cannot read the file: it is \(kind), not a regular file"), stderr)
                assertOneLine(stderr)
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("s.sock")), "collect did not start")
    }

    func testCRLFAndByteOrderMarkConfigurationRunsTheCollector() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("windows.conf")
        let socket = directory.file("crlf.sock")
        let text =
            "\u{FEFF}# saved by Notepad\r\nsocket = \"\(socket)\"\r\nbase = \"\(directory.file("logs/crlf"))\"\r\njournald = false\r\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let checked = try Run.journalBridge(["check-config", path])
        XCTAssertEqual(checked.status, 0, checked.stderrText)
        XCTAssertTrue(
            checked.stdoutText.contains("OK (socket \(socket), files \(directory.file("logs/crlf"))_"),
            checked.stdoutText)

        let daemon = try BackgroundProcess(Run.journalBridge, ["collect", "--config", path])
        XCTAssertTrue(eventually { FileManager.default.fileExists(atPath: socket) }, daemon.stderrText)
        let sent = try Run.journalBridge([
            "send", "--socket", socket, "--timeout", "20", "through a CRLF configuration",
        ])
        XCTAssertEqual(sent.status, 0, sent.stderrText)
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.wait(), 0, daemon.stderrText)
        XCTAssertTrue(
            directory.lines("logs/crlf_debug.log").last?.hasSuffix("INFO : through a CRLF configuration") == true)
    }

    func testCheckConfigAndCollectRefuseWhatCannotHoldTheLogFilesWithTheSameMessage() throws {
        let directory = try TemporaryDirectory()
        let fifoBase = directory.file("fifo")
        XCTAssertEqual(mkfifo(fifoBase + "_error.log", 0o600), 0)
        // /proc: check-config used to say OK (access(2) lets root write anywhere) and collect then refused.
        // An existing log file that is a FIFO hung collect when it opened it.
        let cases = [
            ("/proc/journal-bridge-test/app", "cannot create a file in /proc: "),
            (fifoBase, "refusing log file \(fifoBase)_error.log: it is a FIFO, not a regular file"),
        ]
        for (index, (base, problem)) in cases.enumerated() {
            let path = directory.file("c\(index).conf")
            try "journald = false\nbase = \"\(base)\"\n".write(toFile: path, atomically: true, encoding: .utf8)
            let checked = try runBounded(["check-config", path])
            let collected = try runBounded(["collect", "--config", path, "--socket", directory.file("c\(index).sock")])
            XCTAssertEqual(checked.status, 78, checked.stderr)
            XCTAssertEqual(collected.status, 78, collected.stderr)
            XCTAssertEqual(checked.stderr, collected.stderr, "one validation for both")
            XCTAssertTrue(
                checked.stderr.hasPrefix("journal-bridge: \(path):2: base: cannot write there: "), checked.stderr)
            XCTAssertTrue(checked.stderr.contains(problem), checked.stderr)
            assertOneLine(checked.stderr)
        }
    }

    func testABusySocketIsARuntimeFailureExit1NotAConfigurationError() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("busy.sock")
        let first = try BackgroundProcess(
            Run.journalBridge, ["collect", "--socket", socket, "--base", directory.file("a/jb"), "--no-journald"])
        XCTAssertTrue(eventually { FileManager.default.fileExists(atPath: socket) }, first.stderrText)
        // 78 would tell systemd not to restart (RestartPreventExitStatus=78): a busy socket is not a bad file.
        let second = try runBounded(["collect", "--socket", socket, "--base", directory.file("b/jb"), "--no-journald"])
        XCTAssertEqual(second.status, 1, second.stderr)
        XCTAssertTrue(
            second.stderr.contains("cannot listen on \(socket): bind \(socket): Address already in use"), second.stderr)
        assertOneLine(second.stderr)
        XCTAssertTrue(first.isRunning, "the first collector keeps its socket")
        first.signal(SIGTERM)
        XCTAssertEqual(first.wait(), 0, first.stderrText)
    }

    func testBadArgumentsExit64WithTheUsage() throws {
        let badMode = try Run.journalBridge(["collect", "--socket-mode", "99"])
        XCTAssertEqual(badMode.status, 64, badMode.stderrText)
        XCTAssertTrue(badMode.stderrText.contains("--socket-mode 99: expected octal"), badMode.stderrText)
        XCTAssertTrue(badMode.stderrText.contains("Usage: journal-bridge collect"), badMode.stderrText)
        let help = try Run.journalBridge(["--help"])
        XCTAssertEqual(help.status, 0, help.stderrText)
        XCTAssertTrue(
            help.stdoutText.contains("Exit status") && help.stdoutText.contains("78  bad configuration"),
            help.stdoutText)
        let unknown = try Run.journalBridge(["check-config", "--colour"])
        XCTAssertEqual(unknown.status, 64, unknown.stderrText)
        XCTAssertTrue(unknown.stderrText.contains("Usage"), unknown.stderrText)
        // A flag's bad value is the flag's, not the file's: these exited 78, blamed on the file.
        let long = "/tmp/" + String(repeating: "s", count: 94) + ".sock"
        for (arguments, says) in [
            (["--forward", "bogus://x"], "--forward bogus://x:"),
            (["--socket-group", "no-such-group-jb"], "--socket-group no-such-group-jb: no such group"),
            (["--socket", long], "a Unix socket path holds at most 99"),
        ] {
            let bad = try Run.journalBridge(["collect", "--config", "/nonexistent/jb.conf"] + arguments)
            XCTAssertEqual(bad.status, 64, "\(arguments): \(bad.stderrText)")
            XCTAssertTrue(bad.stderrText.contains(says), bad.stderrText)
            XCTAssertTrue(bad.stderrText.contains("Usage: journal-bridge collect"), bad.stderrText)
        }
    }

    func testSighupReopensTheFilesAndSigtermDrainsAndExitsZero() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("d.sock")
        let daemon = try BackgroundProcess(
            Run.journalBridge,
            ["collect", "--socket", socket, "--base", directory.file("logs/jb"), "--no-journald", "--max-bytes", "0"]
        )
        XCTAssertTrue(eventually { FileManager.default.fileExists(atPath: socket) }, daemon.stderrText)
        var info = stat()
        stat(socket, &info)
        XCTAssertEqual(info.st_mode & 0o777, 0o660, "socket created 0660")

        let shipper = RecordShipper(
            configuration: ShipperConfiguration(socketPath: socket, identifier: "hup", flushAtExit: nil))
        var logger = Logger(label: "hup") { BridgeLogHandler(label: $0, shipper: shipper) }
        logger.logLevel = .debug
        for i in 0..<500 { logger.info("record \(i)") }
        XCTAssertTrue(shipper.flush(timeout: 20))
        XCTAssertEqual(rename(directory.file("logs/jb_debug.log"), directory.file("logs/jb_debug.log.moved")), 0)
        daemon.signal(SIGHUP)
        XCTAssertTrue(eventually { daemon.stderrText.contains("reopened the log files") }, daemon.stderrText)
        for i in 500..<1000 { logger.info("record \(i)") }
        XCTAssertTrue(shipper.flush(timeout: 20))
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: directory.file("logs/jb_debug.log")), "a new file after HUP")

        // Records in flight when SIGTERM arrives are written before the daemon exits 0.
        for i in 1000..<3000 { logger.info("record \(i)") }
        _ = shipper.flush(timeout: 0.001)
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.wait(), 0, daemon.stderrText)
        let acknowledged = Int(shipper.statistics.acknowledged)
        shipper.shutdown(timeout: 0)

        let numbers = (directory.lines("logs/jb_debug.log.moved") + directory.lines("logs/jb_debug.log")).map {
            Int($0.split(separator: " ").last!)!
        }
        XCTAssertEqual(Array(numbers.prefix(1000)), Array(0..<1000), "nothing lost or doubled across the reopen")
        XCTAssertEqual(Set(numbers).count, numbers.count, "no duplicates")
        XCTAssertGreaterThanOrEqual(numbers.count, acknowledged, "every acknowledged record is in the files")
        XCTAssertTrue(directory.lines("logs/jb_debug.log.moved").count >= 500)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "the socket it bound is removed")
    }

    func testSocketActivationReadinessAndWatchdog() throws {
        let directory = try TemporaryDirectory()
        let notify = try NotifyListener(path: directory.file("notify.sock"))
        let socket = directory.file("activated.sock")
        let activator = try BackgroundProcess(
            "/usr/bin/systemd-socket-activate",
            [
                "-E", "NOTIFY_SOCKET", "-E", "WATCHDOG_USEC", "-l", socket, Run.journalBridge, "collect",
                "--base", directory.file("logs/jb"), "--no-journald", "--socket", directory.file("not-this.sock"),
            ],
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "300000"]
        )
        XCTAssertTrue(eventually { FileManager.default.fileExists(atPath: socket) }, activator.stderrText)
        // systemd-socket-activate starts the daemon on the first connection, with the socket as fd 3.
        let sent = try Run.journalBridge(["send", "--socket", socket, "--timeout", "20", "through an activated socket"])
        XCTAssertEqual(sent.status, 0, sent.stderrText + activator.stderrText)
        XCTAssertTrue(
            directory.lines("logs/jb_debug.log").last?.hasSuffix("INFO : through an activated socket") == true)
        XCTAssertTrue(activator.stderrText.contains("collecting on fd 3 from systemd"), activator.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("not-this.sock")), "did not bind its own")

        XCTAssertTrue(eventually { notify.messages.contains { $0.contains("READY=1") } }, "\(notify.messages)")
        XCTAssertTrue(eventually { notify.messages.filter { $0 == "WATCHDOG=1" }.count >= 2 }, "\(notify.messages)")
        activator.signal(SIGTERM)
        XCTAssertEqual(activator.wait(), 0, activator.stderrText)
        XCTAssertTrue(eventually { notify.messages.contains { $0.hasPrefix("STOPPING=1") } }, "\(notify.messages)")
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: socket), "an activated socket belongs to systemd: not unlinked")
    }
}

extension DaemonTests {
    /// systemd passes the sockets of several units in no promised order. With a syslog socket
    /// first (as after a reboot in the systemd test, where the control channel then took the
    /// workers' socket and every record met the control protocol), the bridge's listening
    /// socket and control channel are still told apart: the first and second of the rest.
    func testSocketsOfSeveralUnitsInAnyOrderEachServeTheirOwn() throws {
        let directory = try TemporaryDirectory()
        let syslog = directory.file("syslog.stream")
        let bridge = directory.file("bridge.sock")
        let activator = try BackgroundProcess(
            "/usr/bin/systemd-socket-activate",
            [
                "-l", syslog, "-l", bridge, "-l", bridge + ".control",
                "--fdname=syslog-stream:journal-bridge.socket:journal-bridge.socket",
                Run.journalBridge, "collect", "--socket", directory.file("not-this.sock"),
                "--base", directory.file("logs/jb"), "--no-journald",
            ]
        )
        XCTAssertTrue(eventually { FileManager.default.fileExists(atPath: bridge + ".control") }, activator.stderrText)
        // The first connection starts the daemon.
        let sent = try Run.journalBridge(["send", "--socket", bridge, "--timeout", "20", "to the bridge's socket"])
        XCTAssertEqual(sent.status, 0, sent.stderrText + activator.stderrText)
        XCTAssertTrue(
            directory.lines("logs/jb_debug.log").contains { $0.hasSuffix("INFO : to the bridge's socket") },
            activator.stderrText)
        XCTAssertTrue(
            eventually { activator.stderrText.contains("collecting on fd 4 from systemd") }, activator.stderrText)
        XCTAssertTrue(
            eventually { activator.stderrText.contains("syslog input syslog-stream fd 3 from systemd") },
            activator.stderrText)
        let status = try Run.journalBridge(["status", "--socket", bridge])
        XCTAssertEqual(status.status, 0, status.stderrText + activator.stderrText)
        XCTAssertTrue(status.stdoutText.contains("debug-file"), status.stdoutText)
        let logger = try BackgroundProcess(
            "/usr/bin/logger", ["-u", syslog, "-T", "--socket-errors=on", "-t", "activated", "to the syslog socket"])
        XCTAssertEqual(logger.wait(), 0, logger.stderrText)
        XCTAssertTrue(
            eventually { directory.lines("logs/jb_debug.log").contains { $0.hasSuffix("to the syslog socket") } },
            activator.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("not-this.sock")), "did not bind its own")
        activator.signal(SIGTERM)
        XCTAssertEqual(activator.wait(), 0, activator.stderrText)
    }
}

/// A datagram socket standing in for systemd's NOTIFY_SOCKET.
final class NotifyListener: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var received: [String] = []

    init(path: String) throws {
        self.path = path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw Run.Failure(description: "bind \(path): errno \(errno)") }
        Thread { [weak self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                guard n > 0, let self else { return }
                self.lock.lock()
                self.received.append(String(decoding: buffer[0..<n], as: UTF8.self))
                self.lock.unlock()
            }
        }.start()
    }

    var messages: [String] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
