import Foundation
import JournalBridge
import JournalBridgeTestSupport
import XCTest

/// `journal-bridge collect` as root (as these tests run) with the log directory in the hands of
/// an attacker (issue 9, item 5): what is planted at `<base>_error.log` is refused at start with
/// exit 78 and one line naming the path and the reason, never followed, never waited on; after
/// SIGHUP the daemon keeps writing the file it has.
final class FileSafetyDaemonTests: XCTestCase {
    private let victimText = "root's own file, which the collector must never write\n"

    private func makeVictim(_ directory: TemporaryDirectory) -> String {
        let path = directory.file("victim")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(victimText.utf8)))
        XCTAssertEqual(chmod(path, 0o600), 0)
        return path
    }

    private func contents(_ path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }

    func testUnsafeLogFilesAreRefusedAtStartWithExit78NamingPathAndReason() throws {
        let cases: [(name: String, plant: (String, String) -> Void, reason: String)] = [
            (
                "link", { path, victim in XCTAssertEqual(symlink(victim, path), 0) },
                "it is a symbolic link, not a regular file"
            ),
            ("fifo", { path, _ in XCTAssertEqual(mkfifo(path, 0o666), 0) }, "it is a FIFO, not a regular file"),
            (
                "other-user",
                { path, _ in
                    XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
                    XCTAssertEqual(chmod(path, 0o600), 0)
                    XCTAssertEqual(chown(path, 65534, 65534), 0)
                }, "it belongs to uid 65534"
            ),
            (
                "world-writable",
                { path, _ in
                    XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
                    XCTAssertEqual(chmod(path, 0o666), 0)
                }, "it is writable by group or others (mode 0666)"
            ),
        ]
        for testCase in cases {
            let directory = try TemporaryDirectory()
            let victim = makeVictim(directory)
            let errorFile = directory.file("jb_error.log")
            testCase.plant(errorFile, victim)
            let socket = directory.file("c.sock")
            let daemon = try BackgroundProcess(
                Run.journalBridge,
                ["collect", "--socket", socket, "--base", directory.file("jb"), "--no-journald", "--no-console"]
            )
            // Bounded: the collector of the issue hung on the FIFO for good (SIGKILL gives 137).
            XCTAssertEqual(daemon.wait(timeout: 15), 78, "\(testCase.name): \(daemon.stderrText)")
            let lines = daemon.stderrText.split(separator: "\n").filter { $0.contains("refusing log file") }
            XCTAssertEqual(lines.count, 1, "\(testCase.name): one clear line: \(daemon.stderrText)")
            XCTAssertTrue(
                lines.first?.contains("refusing log file \(errorFile): \(testCase.reason)") == true,
                "\(testCase.name): \(daemon.stderrText)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "\(testCase.name): refused before binding")
            XCTAssertEqual(contents(victim), victimText, testCase.name)
        }
    }

    func testAfterSighupOntoALinkOrAFIFOTheDaemonKeepsWritingTheOldFileAndSaysSoOnce() throws {
        let directory = try TemporaryDirectory()
        let victim = makeVictim(directory)
        let socket = directory.file("c.sock")
        let errorFile = directory.file("jb_error.log")
        let daemon = try BackgroundProcess(
            Run.journalBridge,
            [
                "collect", "--socket", socket, "--base", directory.file("jb"), "--no-journald", "--no-console",
                "--max-bytes", "0",
            ]
        )
        defer { if daemon.isRunning { daemon.signal(SIGKILL) } }
        XCTAssertTrue(eventually { daemon.stderrText.contains("collecting on") }, daemon.stderrText)

        func send(_ message: String) {
            let sent = try? Run.journalBridge([
                "send", "--socket", socket, "--level", "warning", "--timeout", "10", message,
            ])
            XCTAssertEqual(sent?.status, 0, "\(message): \(sent?.stderrText ?? "") \(daemon.stderrText)")
        }
        func hangUp(_ count: Int) {
            daemon.signal(SIGHUP)
            XCTAssertTrue(
                eventually { self.daemon(daemon, said: "reopened the log files") >= count },
                "SIGHUP \(count): \(daemon.stderrText)"
            )
        }
        send("before the swap")
        XCTAssertEqual(rename(errorFile, directory.file("jb_error.log.moved")), 0)
        XCTAssertEqual(symlink(victim, errorFile), 0)
        hangUp(1)
        send("after a link was swapped in")
        hangUp(2)
        XCTAssertEqual(unlink(errorFile), 0)
        XCTAssertEqual(mkfifo(errorFile, 0o666), 0)
        hangUp(3)  // the collector of the issue hung here, and then on SIGTERM too
        send("after a FIFO was swapped in")
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.wait(timeout: 30), 0, daemon.stderrText)

        XCTAssertEqual(contents(victim), victimText)
        let kept = directory.lines("jb_error.log.moved").map { String($0.split(separator: ":").last!.dropFirst()) }
        XCTAssertEqual(
            kept, ["before the swap", "after a link was swapped in", "after a FIFO was swapped in"], daemon.stderrText)
        XCTAssertEqual(
            self.daemon(daemon, said: "error-file: refusing log file \(errorFile): it is a symbolic link"), 1,
            daemon.stderrText)
        XCTAssertEqual(
            self.daemon(daemon, said: "still writing the file opened before"), 1,
            "once per episode: \(daemon.stderrText)")
    }

    private func daemon(_ daemon: BackgroundProcess, said text: String) -> Int {
        daemon.stderrText.components(separatedBy: text).count - 1
    }
}
