import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

/// Hostile and broken clients against a real collector: each closes only its own
/// connection, with a logged reason; a well-behaved client beside them loses nothing.
final class CollectorProtocolTests: XCTestCase {
    private var fixture: CollectorFixture!
    private var directory: TemporaryDirectory { fixture.directory }
    private var socketPath: String { fixture.socketPath }

    override func setUpWithError() throws {
        // Each violation's reason is checked in the file: none summarised.
        fixture = try CollectorFixture(files: "p", configure: { $0.diagnosticsInterval = 0 })
    }

    override func tearDown() {
        fixture.stop()
    }

    private func hello(_ client: RawClient) {
        client.send(.hello(Hello(session: .random(in: 1...UInt64.max), identifier: "raw")))
        guard case .welcome(let version, 0)? = client.nextFrame() else { return XCTFail("no welcome") }
        XCTAssertEqual(version, WireProtocol.version)
    }

    /// Sends `bytes` on a fresh connection and checks the collector closes it, says why
    /// to the client (goodbye) when it can, and logs the reason.
    private func assertClosed(
        after bytes: [UInt8], greet: Bool = true, finish: Bool = false, reason: String, line: UInt = #line
    ) throws {
        let client = try RawClient(path: socketPath)
        if greet { hello(client) }
        client.send(bytes)
        if finish { client.finishSending() }
        let (frames, closed) = client.framesUntilClosed()
        XCTAssertTrue(closed, "connection closed", line: line)
        if !finish {
            guard case .goodbye(let said)? = frames.last else { return XCTFail("no goodbye: \(frames)", line: line) }
            XCTAssertTrue(said.contains(reason), said, line: line)
        }
        XCTAssertTrue(
            eventually {
                self.directory.lines("p_error.log").contains {
                    $0.contains("closed the connection from pid \(getpid())") && $0.contains(reason)
                }
            },
            "logged reason '\(reason)': \(directory.lines("p_error.log"))", line: line
        )
    }

    func testEachBrokenClientClosesOnlyItsOwnConnection() throws {
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(socketPath: socketPath, identifier: "good", flushAtExit: nil))
        var logger = Logger(label: "good") { BridgeLogHandler(label: $0, shipper: shipper) }
        logger.logLevel = .debug
        for i in 0..<100 { logger.info("good before \(i)") }
        XCTAssertTrue(shipper.flush(timeout: 20))

        var oversize = withUnsafeBytes(of: UInt32(WireProtocol.maxFrameBytes + 1).bigEndian, Array.init)
        oversize.append(FrameType.batch.rawValue)
        try assertClosed(after: oversize, reason: "frame too large")
        try assertClosed(after: [0, 0, 0, 0], reason: "zero-length frame")
        try assertClosed(after: [0xFF, 0xFF, 0xFF, 0xFF], reason: "frame too large")
        try assertClosed(
            after: Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), greet: false, reason: "frame too large")
        try assertClosed(after: [0, 0, 0, 3, 0x42, 0x42, 0x42], greet: false, reason: "unknown frame type")
        var future = FrameEncoder()
        future.encode(.hello(Hello(version: 2, session: 1, identifier: "future")))
        try assertClosed(after: future.bytes, greet: false, reason: "unsupported protocol version")
        var early = FrameEncoder()
        early.encode(.batch([LogRecord(level: .info, message: "no hello", origin: .unattributed)]))
        try assertClosed(after: early.bytes, greet: false, reason: "records before hello")
        var badLevel = FrameEncoder()
        badLevel.encode(.batch([LogRecord(level: .info, message: "x", sequence: 1, origin: .unattributed)]))
        var levelBytes = badLevel.bytes
        levelBytes[9] = 200
        try assertClosed(after: levelBytes, reason: "invalid level")
        var truncated = FrameEncoder()
        truncated.encode(.batch([LogRecord(level: .info, message: "cut short", sequence: 1, origin: .unattributed)]))
        try assertClosed(
            after: Array(truncated.bytes.dropLast(5)), finish: true, reason: "truncated frame at disconnect")

        for i in 0..<100 { logger.info("good after \(i)") }
        XCTAssertTrue(shipper.flush(timeout: 20))
        shipper.shutdown()
        let good = directory.lines("p_debug.log").filter { $0.contains("INFO : good ") }
        XCTAssertEqual(good.count, 200)
        XCTAssertFalse(directory.lines("p_debug.log").contains { $0.contains("no hello") || $0.contains("cut short") })
    }

    func testAcksAreCumulativeAndAResentBatchIsNotStoredTwice() throws {
        let client = try RawClient(path: socketPath)
        let session = UInt64.random(in: 1...UInt64.max)
        client.send(.hello(Hello(session: session, identifier: "acks")))
        _ = client.nextFrame()
        let records = (1...5).map {
            LogRecord(level: .info, message: "acked \($0)", sequence: UInt64($0), origin: .unattributed)
        }
        client.send(.batch(records))
        var acked: UInt64 = 0
        while acked < 5, case .ack(let n)? = client.nextFrame() { acked = n }
        XCTAssertEqual(acked, 5)

        // The same session reconnects and resends 3...7: the welcome says 5 is stored, and 3...5 are not written again.
        let again = try RawClient(path: socketPath)
        again.send(.hello(Hello(session: session, identifier: "acks")))
        guard case .welcome(_, let stored)? = again.nextFrame() else { return XCTFail("no welcome") }
        XCTAssertEqual(stored, 5)
        again.send(
            .batch(
                (3...7).map {
                    LogRecord(level: .info, message: "acked \($0)", sequence: UInt64($0), origin: .unattributed)
                }))
        acked = 0
        while acked < 7, case .ack(let n)? = again.nextFrame() { acked = n }
        XCTAssertEqual(acked, 7)
        let lines = directory.lines("p_debug.log").filter { $0.contains("acked ") }
        XCTAssertEqual(lines.map { String($0.split(separator: " ").last!) }, ["1", "2", "3", "4", "5", "6", "7"])
    }
}
