import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

/// Log files are opened as a daemon running as root must (issue 9, item 5): no link, FIFO or
/// device, nothing another user owns or may write; a refused reopen keeps the open file.
final class FileSafetyTests: XCTestCase {
    private let victimText = "a file the collector must never write\n"

    /// A 0600 file of the test's own, which every test checks is left exactly as it was.
    private func makeVictim(_ directory: TemporaryDirectory) -> String {
        let path = directory.file("victim")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(victimText.utf8)))
        XCTAssertEqual(chmod(path, 0o600), 0)
        return path
    }

    private func assertUnchanged(_ victim: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(
            String(decoding: FileManager.default.contents(atPath: victim) ?? Data(), as: UTF8.self), victimText,
            file: file, line: line)
        var info = stat()
        XCTAssertEqual(stat(victim, &info), 0, file: file, line: line)
        XCTAssertEqual(info.st_mode & 0o7777, 0o600, file: file, line: line)
    }

    private func assertRefused(
        _ path: String, mentioning reason: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try RotatingFileSink(path: path), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(path), "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(reason), "\(error)", file: file, line: line)
        }
    }

    /// Runs `body` on its own thread and says whether it finished within `seconds`: an open(2)
    /// of a FIFO without O_NONBLOCK would block until a reader comes, `unblock` brings one.
    private func finishes(within seconds: Double, unblock: () -> Void, _ body: @escaping @Sendable () -> Void) -> Bool {
        let done = DispatchSemaphore(value: 0)
        Thread {
            body()
            done.signal()
        }.start()
        if done.wait(timeout: .now() + seconds) == .success { return true }
        unblock()
        done.wait()
        return false
    }

    func testALinkAtThePathIsRefusedAndNeverFollowed() throws {
        let directory = try TemporaryDirectory()
        let victim = makeVictim(directory)
        XCTAssertEqual(symlink(victim, directory.file("app.log")), 0)
        assertRefused(directory.file("app.log"), mentioning: "symbolic link")
        assertUnchanged(victim)
        // A dangling link is not followed to create its target either.
        XCTAssertEqual(symlink(directory.file("created-through-the-link"), directory.file("dangling.log")), 0)
        assertRefused(directory.file("dangling.log"), mentioning: "symbolic link")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("created-through-the-link")))
    }

    func testAFIFOIsRefusedAtOnceWithOrWithoutAReader() throws {
        let directory = try TemporaryDirectory()
        let fifo = directory.file("app.log")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let refusal = Box<String>()
        // No reader: open(O_WRONLY) without O_NONBLOCK hangs here.
        XCTAssertTrue(
            finishes(within: 10, unblock: { close(open(fifo, O_RDONLY | O_NONBLOCK)) }) {
                do { _ = try RotatingFileSink(path: fifo) } catch { refusal.value = "\(error)" }
            },
            "opening a FIFO hung"
        )
        XCTAssertTrue(
            refusal.value?.contains("refusing log file \(fifo): it is a FIFO") == true,
            "\(refusal.value ?? "not refused")")
        // A reader present: the open succeeds, fstat finds the FIFO.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        assertRefused(fifo, mentioning: "FIFO")
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertLessThanOrEqual(read(reader, &buffer, buffer.count), 0, "nothing was written into the FIFO")
    }

    func testAFileOwnedByAnotherUserIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("app.log")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("theirs\n".utf8)))
        XCTAssertEqual(chmod(path, 0o600), 0)
        XCTAssertEqual(chown(path, 65534, 65534), 0, "the tests run as root")
        assertRefused(path, mentioning: "belongs to uid 65534")
        XCTAssertEqual(directory.lines("app.log"), ["theirs"])
    }

    func testAFileWritableByGroupOrOthersIsRefused() throws {
        let directory = try TemporaryDirectory()
        for mode: mode_t in [0o666, 0o620, 0o602] {
            let path = directory.file("app-\(String(mode, radix: 8)).log")
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
            XCTAssertEqual(chmod(path, mode), 0)
            assertRefused(path, mentioning: "writable by group or others (mode 0\(String(mode, radix: 8)))")
            XCTAssertEqual(directory.lines("app-\(String(mode, radix: 8)).log"), [])
        }
    }

    func testAHardLinkToAnotherFileIsRefused() throws {
        let directory = try TemporaryDirectory()
        let victim = makeVictim(directory)
        XCTAssertEqual(link(victim, directory.file("app.log")), 0)
        assertRefused(directory.file("app.log"), mentioning: "2 hard links")
        assertUnchanged(victim)
    }

    func testANewFileNeverGetsWriteBitsForGroupOrOthers() throws {
        let directory = try TemporaryDirectory()
        let previous = umask(0)
        defer { umask(previous) }
        let path = directory.file("app.log")
        let sink = try RotatingFileSink(path: path, options: .init(maxBytes: 0, backupCount: 0, mode: 0o666))
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o644)
        sink.reopen()
        sink.write([LogRecord(level: .info, message: "after the reopen")])
        XCTAssertTrue(
            directory.lines("app.log").last?.hasSuffix("after the reopen") == true,
            "the file it made passes its own checks")
    }

    /// SIGHUP with the path swapped for a link (then a FIFO): the sink goes on writing the
    /// file it has, says so once, and takes the path again once it is a proper file.
    func testAReopenOntoALinkOrFIFOKeepsWritingTheOpenFileAndSaysSoOnce() throws {
        let directory = try TemporaryDirectory()
        let victim = makeVictim(directory)
        let path = directory.file("app.log")
        let sink = try RotatingFileSink(name: "error-file", path: path, options: .init(maxBytes: 0, backupCount: 0))
        let stderr = try CapturedStandardError(directory.file("stderr"))
        sink.write([LogRecord(level: .error, message: "one")])
        XCTAssertEqual(rename(path, directory.file("app.log.moved")), 0)
        XCTAssertEqual(symlink(victim, path), 0)
        sink.reopen()
        sink.write([LogRecord(level: .error, message: "two")])
        sink.reopen()
        sink.write([LogRecord(level: .error, message: "three")])
        XCTAssertEqual(unlink(path), 0)
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        var reader: Int32 = -1  // kept open if it had to unblock a hung reopen: a write then gets no SIGPIPE
        defer { if reader >= 0 { close(reader) } }
        XCTAssertTrue(
            finishes(within: 10, unblock: { reader = open(path, O_RDONLY | O_NONBLOCK) }) { sink.reopen() },
            "reopen hung on a FIFO")
        sink.write([LogRecord(level: .error, message: "four")])
        XCTAssertEqual(unlink(path), 0)
        sink.reopen()
        sink.write([LogRecord(level: .error, message: "five")])
        let said = stderr.finish()

        assertUnchanged(victim)
        XCTAssertEqual(
            directory.lines("app.log.moved").map { String($0.split(separator: " ").last!) },
            ["one", "two", "three", "four"])
        XCTAssertEqual(directory.lines("app.log").map { String($0.split(separator: " ").last!) }, ["five"])
        XCTAssertEqual(said.components(separatedBy: "still writing the file opened before").count - 1, 1, said)
        XCTAssertTrue(said.contains("refusing log file \(path): it is a symbolic link"), said)
        XCTAssertTrue(said.contains("writing \(path) again"), said)
        XCTAssertEqual(sink.failedCount, 0, "nothing was lost")
    }

    /// A link above the file that another user owns is never followed: such a user could point
    /// it at any directory (`/etc/logrotate.d`) and have root create its files there. A link of
    /// this user's own (or root's) is an administrator's and is followed.
    func testALinkAnotherUserOwnsAboveTheFileIsNeverFollowed() throws {
        let directory = try TemporaryDirectory()
        let elsewhere = directory.file("elsewhere")
        XCTAssertEqual(mkdir(elsewhere, 0o755), 0)
        XCTAssertEqual(mkdir(directory.file("shared"), 0o1777), 0)
        let link = directory.file("shared/logs")
        XCTAssertEqual(symlink(elsewhere, link), 0)
        XCTAssertEqual(lchown(link, 65534, 65534), 0, "the tests run as root")
        assertRefused(link + "/app.log", mentioning: "\(link) is a symbolic link of uid 65534")
        assertRefused(link + "/sub/app.log", mentioning: "\(link) is a symbolic link of uid 65534")
        XCTAssertThrowsError(try ForwardSpill(directory: link + "/spill", maximumBytes: 1 << 20)) {
            XCTAssertTrue("\($0)".contains("symbolic link of uid 65534"), "\($0)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: elsewhere), [], "nothing made through it")

        XCTAssertEqual(lchown(link, geteuid(), getegid()), 0)
        let sink = try RotatingFileSink(path: link + "/sub/app.log")
        sink.write([LogRecord(level: .info, message: "through a link of this user's own")])
        sink.close()
        XCTAssertTrue(
            directory.lines("elsewhere/sub/app.log").last?.hasSuffix("through a link of this user's own") == true)
    }

    /// Rollovers happen in the directory the sink opened, whatever is renamed or linked above it
    /// meanwhile; a reopen (SIGHUP) looks the path up again.
    func testRolloversStayInTheDirectoryOpenedWhateverIsSwappedAboveIt() throws {
        let directory = try TemporaryDirectory()
        XCTAssertEqual(mkdir(directory.file("logs"), 0o755), 0)
        XCTAssertEqual(mkdir(directory.file("other"), 0o755), 0)
        let sink = try RotatingFileSink(
            path: directory.file("logs/app.log"), options: .init(maxBytes: 300, backupCount: 3))
        XCTAssertEqual(rename(directory.file("logs"), directory.file("moved")), 0)
        XCTAssertEqual(symlink(directory.file("other"), directory.file("logs")), 0)
        for i in 1...40 { sink.write([LogRecord(level: .info, message: "record number \(i) of the rotation test")]) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.file("other")), [])
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: directory.file("moved")).sorted(),
            ["app.log", "app.log.1", "app.log.2", "app.log.3"])
        XCTAssertTrue(directory.lines("moved/app.log").last?.hasSuffix("record number 40 of the rotation test") == true)
        sink.reopen()
        sink.write([LogRecord(level: .info, message: "after the reopen")])
        sink.close()
        XCTAssertEqual(directory.lines("other/app.log").count, 1)
        XCTAssertTrue(directory.lines("other/app.log").last?.hasSuffix("after the reopen") == true)
    }

    /// Rotation: links squatting backup names are moved as links (rename(2)) and roll off;
    /// their target is never written.
    func testRotationNeverFollowsLinksAtBackupNames() throws {
        let directory = try TemporaryDirectory()
        let victim = makeVictim(directory)
        let path = directory.file("app.log")
        XCTAssertEqual(symlink(victim, path + ".1"), 0)
        XCTAssertEqual(symlink(directory.file("absent"), path + ".2"), 0)
        let sink = try RotatingFileSink(path: path, options: .init(maxBytes: 300, backupCount: 3))
        for i in 1...40 { sink.write([LogRecord(level: .info, message: "record number \(i) of the rotation test")]) }
        assertUnchanged(victim)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("absent")))
        for name in ["app.log", "app.log.1", "app.log.2", "app.log.3"] {
            var info = stat()
            XCTAssertEqual(lstat(directory.file(name), &info), 0, name)
            XCTAssertEqual(info.st_mode & S_IFMT, S_IFREG, "\(name): the links rolled off")
        }
        XCTAssertTrue(directory.lines("app.log").last?.hasSuffix("record number 40 of the rotation test") == true)
    }
}

/// A value set on one thread and read after a semaphore on another.
private final class Box<Value>: @unchecked Sendable {
    var value: Value?
}

/// Points fd 2 at a file while a test runs (the sinks report there), then puts it back.
private final class CapturedStandardError {
    private let saved: Int32
    private let path: String

    init(_ path: String) throws {
        self.path = path
        let file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard file >= 0 else { throw Run.Failure(description: "open \(path): errno \(errno)") }
        saved = dup(2)
        dup2(file, 2)
        close(file)
    }

    /// Restores fd 2 and returns what was written meanwhile.
    func finish() -> String {
        if saved >= 0 {
            dup2(saved, 2)
            close(saved)
        }
        return String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }
}
