import Logging
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import XCTest

final class RotatingFileSinkTests: XCTestCase {
    private func records(_ count: Int, level: Logger.Level = .info) -> [LogRecord] {
        (1...count).map { LogRecord(level: level, message: "record number \($0) of the rotation test") }
    }

    /// The message numbers found in a file and all its backups.
    private func numbers(in directory: TemporaryDirectory, base: String) -> [Int] {
        directory.rotated(base).lines().map(number(inLine:))
    }

    private func number(inLine line: String) -> Int {
        let words = line.split(separator: " ")
        return Int(words[words.firstIndex(of: "number")! + 1])!
    }

    func testPythonSizesEveryRecordInExactlyOneFileAndBackupsCapped() throws {
        let directory = try TemporaryDirectory()
        let sink = try RotatingFileSink(path: directory.file("app.log"), options: .init(maxBytes: 300, backupCount: 10))
        // 8 records of ~70 bytes: 4 per 300-byte file, so 2 files' worth; nothing rolls off yet.
        for record in records(8) { sink.write([record]) }
        XCTAssertEqual(numbers(in: directory, base: "app.log").sorted(), Array(1...8))
        for name in directory.names() {
            let size = try FileManager.default.attributesOfItem(atPath: directory.file(name))[.size] as! Int
            XCTAssertLessThan(size, 300, name)
        }
    }

    func testBackupsAreNumberedNewestFirstAndTheOldestFallsOff() throws {
        let directory = try TemporaryDirectory()
        let sink = try RotatingFileSink(path: directory.file("app.log"), options: .init(maxBytes: 300, backupCount: 3))
        sink.write(records(40))  // one batch: rotation happens inside it too
        XCTAssertEqual(directory.names(), ["app.log", "app.log.1", "app.log.2", "app.log.3"])
        let current = numbers(in: directory, base: "app.log").count
        XCTAssertLessThan(current, 40, "old records fell off the end")
        // Newest in app.log, then .1, .2, .3 going back in time, contiguous to the last record.
        var expectedNext = 40
        for name in ["app.log", "app.log.1", "app.log.2", "app.log.3"] {
            let inFile = directory.lines(name).map(number(inLine:))
            XCTAssertEqual(inFile.last, expectedNext, name)
            XCTAssertEqual(inFile, Array(inFile.first!...inFile.last!), name)
            expectedNext = inFile.first! - 1
        }
    }

    func testMaxBytesZeroNeverRolls() throws {
        let directory = try TemporaryDirectory()
        let sink = try RotatingFileSink(path: directory.file("app.log"), options: .init(maxBytes: 0, backupCount: 10))
        sink.write(records(100))
        XCTAssertEqual(directory.names(), ["app.log"])
        XCTAssertEqual(directory.lines("app.log").count, 100)
    }

    func testBackupCountZeroNeverRolls() throws {
        let directory = try TemporaryDirectory()
        let sink = try RotatingFileSink(path: directory.file("app.log"), options: .init(maxBytes: 300, backupCount: 0))
        sink.write(records(20))
        XCTAssertEqual(directory.names(), ["app.log"])
        XCTAssertEqual(directory.lines("app.log").count, 20)
    }

    func testAnOversizedRecordStillLandsWhole() throws {
        let directory = try TemporaryDirectory()
        let sink = try RotatingFileSink(path: directory.file("app.log"), options: .init(maxBytes: 300, backupCount: 2))
        let big = String(repeating: "x", count: 1000)
        sink.write([
            LogRecord(level: .info, message: "small"), LogRecord(level: .info, message: big),
            LogRecord(level: .info, message: "after"),
        ])
        XCTAssertEqual(directory.lines("app.log.1").count, 1)
        XCTAssertTrue(directory.lines("app.log.1")[0].hasSuffix(big))
        XCTAssertTrue(directory.lines("app.log")[0].hasSuffix("after"))
    }

    func testAppendsCreatesDirectoryAndUsesMode0640() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("nested/deeper/app.log")
        try RotatingFileSink(path: path).write([LogRecord(level: .info, message: "one")])
        try RotatingFileSink(path: path).write([LogRecord(level: .info, message: "two")])
        XCTAssertEqual(
            directory.lines("nested/deeper/app.log").map { $0.hasSuffix("one") || $0.hasSuffix("two") }, [true, true])
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o640)
    }

    func testSafeFromManyThreads() throws {
        let directory = try TemporaryDirectory()
        let sink = try RotatingFileSink(
            path: directory.file("app.log"), options: .init(maxBytes: 4096, backupCount: 1000))
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<500 {
                sink.write([LogRecord(level: .info, message: "record number \(thread * 500 + i) of many")])
            }
        }
        XCTAssertEqual(numbers(in: directory, base: "app.log").sorted(), Array(0..<4000))
    }

    func testReopenFollowsAnExternalRename() throws {
        let directory = try TemporaryDirectory()
        let sink = try RotatingFileSink(path: directory.file("app.log"), options: .init(maxBytes: 0, backupCount: 0))
        sink.write([LogRecord(level: .info, message: "before")])
        XCTAssertEqual(rename(directory.file("app.log"), directory.file("app.log.old")), 0)
        sink.reopen()
        sink.write([LogRecord(level: .info, message: "after")])
        XCTAssertTrue(directory.lines("app.log.old")[0].hasSuffix("before"))
        XCTAssertTrue(directory.lines("app.log")[0].hasSuffix("after"))
    }

    func testUnwritableDirectoryIsAnErrorNamingThePath() {
        XCTAssertThrowsError(try RotatingFileSink(path: "/proc/journal-bridge-test/app.log")) {
            XCTAssertTrue("\($0)".contains("/proc/journal-bridge-test"), "\($0)")
        }
    }

    /// A rename that fails in the middle of the chain (a directory at `.2`, a file at `.3`, as
    /// another user may leave them in a shared directory) stops the roll there: moved on, the
    /// roll replaced `.1` every time, and its records were lost.
    func testARolloverStopsAtTheFirstBackupThatCannotMoveAndLosesNothing() throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(
            atPath: directory.file("app.log.2/inside"), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: directory.file("app.log.3"), contents: nil))
        let sink = try RotatingFileSink(path: directory.file("app.log"), options: .init(maxBytes: 300, backupCount: 3))
        sink.write(records(40))
        XCTAssertGreaterThan(sink.rolloverFailures.count, 0)
        let kept = ["app.log", "app.log.1"].flatMap { directory.lines($0) }.map(number(inLine:))
        XCTAssertEqual(kept.sorted(), Array(1...40), "every record in the file or its one movable backup")
        XCTAssertEqual(sink.failedCount, 0)
    }

    /// Only the file being written rolls: a file another user put at its name (here after a
    /// move the sink did not make, its reopen refused) is not moved in among the backups.
    func testAnotherFileAtTheNameIsNotRolledAmongTheBackups() throws {
        let directory = try TemporaryDirectory()
        let sink = try RotatingFileSink(path: directory.file("app.log"), options: .init(maxBytes: 300, backupCount: 3))
        sink.write(records(2))
        XCTAssertEqual(rename(directory.file("app.log"), directory.file("app.log.1")), 0)
        let forged = "FORGED by uid 65534\n"
        XCTAssertTrue(FileManager.default.createFile(atPath: directory.file("app.log"), contents: Data(forged.utf8)))
        XCTAssertEqual(chown(directory.file("app.log"), 65534, 65534), 0, "the tests run as root")
        sink.reopen()  // refused: the sink goes on writing its file, now app.log.1
        sink.write(records(40))
        XCTAssertEqual(directory.lines("app.log"), ["FORGED by uid 65534"], "left where it was")
        for name in (try FileManager.default.contentsOfDirectory(atPath: directory.path)) where name != "app.log" {
            var info = stat()
            XCTAssertEqual(lstat(directory.file(name), &info), 0)
            XCTAssertEqual(info.st_uid, geteuid(), "\(name) is the sink's own")
        }
        XCTAssertEqual(numbers(in: directory, base: "app.log.1").sorted(), (Array(1...2) + Array(1...40)).sorted())
    }

    /// The size is the file's as it is: after logrotate's copytruncate a line no longer rolls the
    /// (now empty) file, and the cut after a short write no longer pads it with NULs up to the
    /// size it had.
    func testAfterCopytruncateTheSizeIsTheFilesOwn() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("app.log")
        let sink = try RotatingFileSink(path: path, options: .init(maxBytes: 3000, backupCount: 3))
        sink.write(records(40))
        XCTAssertEqual(truncate(path, 0), 0)
        sink.write(records(1))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".1"), "an empty file does not roll")
        XCTAssertEqual(truncate(path, 0), 0)
        withFileSizeLimit(20) { sink.write(records(1)) }  // cut short, then cut back
        XCTAssertEqual(sink.failedCount, 1)
        sink.write(records(3))
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
        XCTAssertFalse(bytes.contains(0), "no NUL padding")
        XCTAssertEqual(directory.lines("app.log").map(number(inLine:)), [1, 2, 3])
    }

    func testAFailedRolloverRenameIsReportedAndNothingIsLost() throws {
        let directory = try TemporaryDirectory()
        // A non-empty directory squatting the first backup's name: rename(app.log, app.log.1) fails.
        try FileManager.default.createDirectory(
            atPath: directory.file("app.log.1/inside"), withIntermediateDirectories: true)
        // One backup: nothing moves the directory along, every rollover meets it.
        let sink = try RotatingFileSink(path: directory.file("app.log"), options: .init(maxBytes: 300, backupCount: 1))
        sink.write(records(20))
        let failures = sink.rolloverFailures
        XCTAssertEqual(failures.count, 1, "tried once, then a second later: not at every line")
        XCTAssertTrue(
            failures.last?.contains("rename \(directory.file("app.log")) to \(directory.file("app.log.1"))") == true,
            "\(failures)")
        XCTAssertEqual(directory.lines("app.log").map(number(inLine:)), Array(1...20), "the file grew instead")
        XCTAssertEqual(sink.failedCount, 0)

        try FileManager.default.removeItem(atPath: directory.file("app.log.1"))
        Thread.sleep(forTimeInterval: 1.1)  // the next try
        sink.write(records(1))
        XCTAssertEqual(sink.rolloverFailures.count, failures.count, "rolls over again")
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.file("app.log.1")))
    }
}
