import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

/// Direct mode against the real journald and real files.
final class DirectModeJournaldTests: XCTestCase {
    private func makeLogger(_ directory: TemporaryDirectory, identifier: String, label: String = "app.db") throws -> (
        Logger, Router
    ) {
        let configuration = SinkConfiguration(base: directory.file("app"), consoleLevel: nil, journaldLevel: .debug)
        let router = Router(routes: try configuration.makeRoutes())
        var handler = DirectLogHandler(label: label, router: router, identifier: identifier, metadataProvider: nil)
        handler.logLevel = .trace
        handler[metadataKey: "component"] = "storage"
        return (Logger(label: label) { _ in handler }, router)
    }

    func testEveryFieldReachesJournaldAndFilesHoldWhatTheirThresholdsAdmit() throws {
        let directory = try TemporaryDirectory()
        let identifier = Journal.uniqueIdentifier()
        let (logger, router) = try makeLogger(directory, identifier: identifier)
        var lines: [Logger.Level: UInt] = [:]
        for level in Logger.Level.allCases {
            lines[level] = #line + 1
            logger.log(
                level: level, "message at \(level)", metadata: ["request.id": "r-\(level)", "priority": "not-mine"])
        }
        router.close()

        // trace is below the journald threshold (debug); the other six arrive.
        let entries = try Journal.entries(identifier: identifier, atLeast: 6)
        XCTAssertEqual(entries.count, 6)
        let byMessage = Dictionary(uniqueKeysWithValues: entries.map { ($0["MESSAGE"]!, $0) })
        for level in Logger.Level.allCases where level != .trace {
            let entry = try XCTUnwrap(byMessage["message at \(level)"], "\(level)")
            XCTAssertEqual(entry["PRIORITY"], String(level.syslogPriority))
            XCTAssertEqual(entry["SYSLOG_IDENTIFIER"], identifier)
            XCTAssertEqual(entry["SYSLOG_PID"], String(getpid()))
            XCTAssertEqual(entry["_PID"], String(getpid()))
            XCTAssertEqual(entry["CODE_FILE"], #fileID)
            XCTAssertEqual(entry["CODE_LINE"], String(lines[level]!))
            XCTAssertEqual(entry["CODE_FUNC"], "testEveryFieldReachesJournaldAndFilesHoldWhatTheirThresholdsAdmit()")
            XCTAssertEqual(entry["LOGGER_LABEL"], "app.db")
            XCTAssertEqual(entry["REQUEST_ID"], "r-\(level)")
            XCTAssertEqual(entry["COMPONENT"], "storage")
            XCTAssertEqual(entry["META_PRIORITY"], "not-mine", "a metadata key never overwrites PRIORITY")
            XCTAssertEqual(entry.repeated["PRIORITY"]?.count, 1)
            let stamp = try XCTUnwrap(Int64(entry["JB_TIMESTAMP"] ?? ""))
            let received = try XCTUnwrap(Int64(entry["__REALTIME_TIMESTAMP"] ?? ""))
            XCTAssertLessThanOrEqual(stamp, received)
            XCTAssertLessThan(received - stamp, 60_000_000)
        }

        let errorFile = directory.lines("app_error.log")
        let debugFile = directory.lines("app_debug.log")
        XCTAssertEqual(errorFile.map { $0.split(separator: " ")[2] }, ["WARNING", "ERROR", "CRITICAL"])
        XCTAssertEqual(
            debugFile.map { $0.split(separator: " ")[2] }, ["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"])
        XCTAssertTrue(errorFile[0].hasSuffix("] WARNING : message at warning"), errorFile[0])
    }

    func testMultiLineNulAndOneMebibyteMessagesArriveIntact() throws {
        let directory = try TemporaryDirectory()
        let identifier = Journal.uniqueIdentifier()
        let (logger, router) = try makeLogger(directory, identifier: identifier)
        let multiLine = "Traceback:\n  frame 1\n  frame 2\nError: boom\n"
        let withNul = "before\u{0}after"
        let big = String((0..<(1 << 20)).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
        logger.error("\(multiLine)", metadata: ["kind": "multi"])
        logger.error("\(withNul)", metadata: ["kind": "nul"])
        logger.error("\(big)", metadata: ["kind": "big", "note": "line one\nline two"])
        router.close()

        let entries = try Journal.entries(identifier: identifier, atLeast: 3)
        let byKind = Dictionary(uniqueKeysWithValues: entries.map { ($0["KIND"]!, $0) })
        XCTAssertEqual(byKind["multi"]?.fields["MESSAGE"], Array(multiLine.utf8))
        XCTAssertEqual(byKind["nul"]?.fields["MESSAGE"], Array(withNul.utf8))
        XCTAssertEqual(byKind["big"]?.fields["MESSAGE"]?.count, 1 << 20)
        XCTAssertEqual(byKind["big"]?.fields["MESSAGE"], Array(big.utf8))
        XCTAssertEqual(byKind["big"]?["NOTE"], "line one\nline two")

        // In the files each of them is one escaped line.
        let lines = directory.lines("app_error.log")
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines[0].hasSuffix("Traceback:\\n  frame 1\\n  frame 2\\nError: boom\\n"))
        XCTAssertTrue(lines[1].hasSuffix("before\\x00after"))
        XCTAssertEqual(lines[2].count, (1 << 20) + "[2026-11-24 19:03:12,345] ERROR : ".count)
    }

    func testHandlerIsSafeFromManyThreads() throws {
        let directory = try TemporaryDirectory()
        let identifier = Journal.uniqueIdentifier()
        let (logger, router) = try makeLogger(directory, identifier: identifier)
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for i in 0..<250 { logger.warning("t\(thread) n\(i)") }
        }
        router.close()
        XCTAssertEqual(
            Set(directory.lines("app_debug.log").map { $0.split(separator: " ").suffix(2).joined(separator: " ") })
                .count, 1000)
        XCTAssertEqual(try Journal.entries(identifier: identifier, atLeast: 1000).count, 1000)
    }
}
