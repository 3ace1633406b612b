import Foundation
import JournalBridge
import JournalBridgeTestSupport
import XCTest

/// `journal-bridge send --direct`, run as a real process.
final class SendCommandTests: XCTestCase {
    func testArgumentMessageWithFieldsAndLevel() throws {
        let directory = try TemporaryDirectory()
        let identifier = Journal.uniqueIdentifier()
        let result = try Run.journalBridge([
            "send", "--direct", "--base", directory.file("cli"), "--level", "error", "--identifier", identifier,
            "--field", "request.id=abc", "--field", "empty=", "--field", "MESSAGE=sneaky", "disk is on fire",
        ])
        XCTAssertEqual(result.status, 0, result.stderrText)
        let entry = try XCTUnwrap(Journal.entries(identifier: identifier).first)
        XCTAssertEqual(entry["MESSAGE"], "disk is on fire")
        XCTAssertEqual(entry["PRIORITY"], "3")
        XCTAssertEqual(entry["REQUEST_ID"], "abc")
        XCTAssertEqual(entry["EMPTY"], "")
        XCTAssertEqual(entry["META_MESSAGE"], "sneaky")
        XCTAssertEqual(entry["SYSLOG_IDENTIFIER"], identifier)
        XCTAssertEqual(entry["SYSLOG_PID"], entry["_PID"])
        XCTAssertEqual(entry["CODE_FILE"], "<argument>")
        XCTAssertEqual(entry["CODE_FUNC"], "send")
        XCTAssertEqual(entry["LOGGER_LABEL"], "journal-bridge.send")
        XCTAssertNotNil(entry["JB_TIMESTAMP"])
        XCTAssertEqual(directory.lines("cli_error.log").count, 1)
        XCTAssertTrue(directory.lines("cli_debug.log")[0].hasSuffix("] ERROR : disk is on fire"))
    }

    func testOneRecordPerLineOfStandardInput() throws {
        let directory = try TemporaryDirectory()
        let identifier = Journal.uniqueIdentifier()
        let input = (1...200).map { "line \($0)" }.joined(separator: "\n") + "\n"
        let result = try Run.journalBridge(
            ["send", "--direct", "--base", directory.file("cli"), "--level", "debug", "--identifier", identifier, "-"],
            stdin: Array(input.utf8)
        )
        XCTAssertEqual(result.status, 0, result.stderrText)
        let entries = try Journal.entries(identifier: identifier, atLeast: 200)
        XCTAssertEqual(entries.map { $0["MESSAGE"]! }, (1...200).map { "line \($0)" })
        XCTAssertEqual(entries.map { $0["CODE_LINE"]! }, (1...200).map { "\($0)" })
        XCTAssertEqual(Set(entries.map { $0["PRIORITY"]! }), ["7"])
        XCTAssertEqual(directory.lines("cli_debug.log").count, 200)
        XCTAssertEqual(directory.lines("cli_error.log").count, 0)
    }

    func testBadLevelAndBadFieldExitNonZeroNamingThem() throws {
        let directory = try TemporaryDirectory()
        let badLevel = try Run.journalBridge([
            "send", "--direct", "--base", directory.file("x"), "--level", "loud", "m",
        ])
        XCTAssertNotEqual(badLevel.status, 0)
        XCTAssertTrue(
            badLevel.stderrText.contains("'loud'") && badLevel.stderrText.contains("--level"), badLevel.stderrText)
        let badField = try Run.journalBridge([
            "send", "--direct", "--base", directory.file("x"), "--field", "novalue", "m",
        ])
        XCTAssertNotEqual(badField.status, 0)
        XCTAssertTrue(
            badField.stderrText.contains("'novalue'") && badField.stderrText.contains("--field"), badField.stderrText)
        XCTAssertEqual(directory.names(), [], "nothing written on bad input")
    }

    /// With the collector away, `send -` fills its shipper (65,536 records) and waited for room
    /// for ever, past its `--timeout`. Now it waits `--timeout` for room at most, stops reading
    /// and exits 1, saying so.
    func testSendWithTheCollectorAwayStopsAtItsTimeoutWhateverTheInput() throws {
        let directory = try TemporaryDirectory()
        let lines = Array((1...70_000).map { "line \($0)\n" }.joined().utf8)
        let send = try BackgroundProcess(
            Run.journalBridge, ["send", "--socket", directory.file("absent.sock"), "--timeout", "2", "-"],
            environment: [:], input: lines)
        let status = send.wait(timeout: 30)
        XCTAssertEqual(status, 1, send.stderrText)
        XCTAssertTrue(
            send.stderrText.contains("stopped reading the input, the collector took no record for 2.0 s"),
            send.stderrText)
    }

    /// A line of 64 MiB on stdin is cut to the protocol's 2 MiB as before, the note counting
    /// the whole line, without holding it: getline's buffer and a copy held twice the line
    /// (216 MB for 100 MB in a review). Peak memory is read while the line's end is pending.
    func testAHugeLineIsCutWithoutBeingHeld() throws {
        let directory = try TemporaryDirectory()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Run.journalBridge)
        process.arguments = ["send", "--direct", "--no-journald", "--base", directory.file("huge"), "-"]
        let input = Pipe()
        process.standardInput = input
        try process.run()
        let length = 64 << 20
        input.fileHandleForWriting.write(Data(repeating: UInt8(ascii: "y"), count: length))
        Thread.sleep(forTimeInterval: 0.5)  // the pipe's last 64 KiB read too
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let peak =
            status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? Int.max
        input.fileHandleForWriting.write(Data("\nafter\n".utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertLessThan(peak, 40 << 10, "peak resident KiB while a 64 MiB line was read")
        let lines = directory.lines("huge_debug.log")
        XCTAssertEqual(lines.count, 2)
        let cut = WireProtocol.maxFieldBytes - "…[truncated 65011731 bytes]".utf8.count
        XCTAssertTrue(
            lines.first?.hasSuffix("…[truncated \(length - cut) bytes]") == true, String(lines.first?.suffix(60) ?? ""))
        XCTAssertTrue(lines.last?.hasSuffix(" : after") == true)
    }

    /// Cannot open the files: a failure at run time, not a usage error (it used to print the usage and exit 64).
    func testDirectModeThatCannotOpenItsFilesExits1WithOneLine() throws {
        let directory = try TemporaryDirectory()
        XCTAssertTrue(FileManager.default.createFile(atPath: directory.file("plain"), contents: nil))
        let result = try Run.journalBridge([
            "send", "--direct", "--no-journald", "--base", directory.file("plain/app"), "hello",
        ])
        XCTAssertEqual(result.status, 1, result.stderrText)
        XCTAssertEqual(
            result.stderrText,
            "journal-bridge: cannot open the log files: open \(directory.file("plain/app"))_error.log: \(directory.file("plain")) is a regular file, not a directory: Not a directory (errno 20)\n"
        )
        let noBase = try Run.journalBridge(["send", "--direct", "hello"])
        XCTAssertEqual(noBase.status, 64, "a missing argument is a usage error: \(noBase.stderrText)")
        XCTAssertTrue(
            noBase.stderrText.contains("--direct needs --base") && noBase.stderrText.contains("Usage"),
            noBase.stderrText)
    }

    func testAnUnreachableCollectorExits1WithoutUsage() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("nobody.sock")
        let result = try Run.journalBridge(["send", "--socket", socket, "--timeout", "1", "hello"])
        XCTAssertEqual(result.status, 1, result.stderrText)
        let lines = result.stderrText.split(separator: "\n")
        XCTAssertFalse(result.stderrText.contains("Usage"), result.stderrText)
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("journal-bridge: ") }, result.stderrText)
        XCTAssertEqual(
            lines.last, "journal-bridge: 1 records not acknowledged by the collector at \(socket) after 1.0 s")
    }

    /// journald absent: `sd_journal_sendv` would drop silently; the bridge says so once and counts.
    func testJournaldAbsentIsReportedOnceAndFilesKeepEverything() throws {
        let directory = try TemporaryDirectory()
        let script =
            "mount -t tmpfs none /run/systemd/journal && exec \"$0\" send --direct --base \"$1\" --identifier absent-test -"
        let result = try Run.command(
            "/usr/bin/unshare", ["-m", "sh", "-c", script, Run.journalBridge, directory.file("cli")],
            stdin: Array("one\ntwo\nthree\n".utf8)
        )
        try XCTSkipIf(result.stderrText.contains("unshare failed"), "no mount namespaces here")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(
            result.stderrText.components(separatedBy: "journald is not running").count - 1, 1, result.stderrText)
        XCTAssertTrue(result.stderrText.contains("3 records were not sent to journald"), result.stderrText)
        XCTAssertEqual(directory.lines("cli_debug.log").count, 3)
    }
}
