import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

/// docs/protocol.md, "Sessions and sequence numbers": a session belongs to the process
/// that opened it, and sequence numbers are checked per batch.
final class SessionIsolationTests: XCTestCase {
    private var fixture: CollectorFixture!
    private var directory: TemporaryDirectory { fixture.directory }
    private var collector: Collector { fixture.collector }
    private var socketPath: String { fixture.socketPath }

    override func setUpWithError() throws {
        // 0666: another user (uid 65534) must be able to connect to attempt the attack.
        fixture = try CollectorFixture(files: "p", journaldLevel: .debug, configure: { $0.socketMode = 0o666 })
    }

    override func tearDown() {
        fixture.stop()
    }

    private func bytes(_ frames: Frame...) -> [UInt8] {
        var encoder = FrameEncoder()
        for frame in frames { encoder.encode(frame) }
        return encoder.bytes
    }

    private func record(_ message: String, _ sequence: UInt64) -> LogRecord {
        LogRecord(level: .info, message: message, sequence: sequence, origin: .unattributed)
    }

    /// The attack of issue 9: another user reads the victim's session id from the journal,
    /// says hello with it and sends one record numbered 2^64-1. Before, every later record
    /// of the victim was dropped as a duplicate (and acknowledged) and the welcome told the
    /// attacker how far the victim had got.
    func testAnotherUserPresentingTheVictimsSessionNeitherSilencesNorSeesIt() throws {
        guard getuid() == 0 else { throw XCTSkip("switching the attacker to uid 65534 needs root") }
        let victim = Journal.uniqueIdentifier("jb-victim")
        let attacker = victim + "-attacker"
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(socketPath: socketPath, identifier: victim, flushAtExit: nil))
        defer { shipper.shutdown() }
        let logger = Logger(label: "victim") { BridgeLogHandler(label: $0, shipper: shipper) }
        for i in 1...20 { logger.info("victim line \(i)") }
        XCTAssertTrue(shipper.flush(timeout: 20))

        // What an attacker sees: JB_SESSION in every entry.
        let seen = try Journal.entries(identifier: victim, atLeast: 20)
        let session = try XCTUnwrap(
            seen.first?["JB_SESSION"].flatMap { UInt64($0, radix: 16) }, "JB_SESSION of the victim")

        let answer = try ForkedClient.exchange(
            path: socketPath,
            bytes: bytes(
                .hello(Hello(session: session, identifier: attacker)), .batch([record("attacker record", UInt64.max)])),
            user: (uid: 65534, gid: 65534)
        )
        let frames = ForkedClient.frames(answer)
        guard case .welcome(_, let acknowledged)? = frames.first else {
            return XCTFail("no welcome for the attacker: \(frames)")
        }
        XCTAssertEqual(acknowledged, 0, "the welcome tells another process nothing about the victim's session")

        for i in 21...100 { logger.info("victim line \(i)") }
        XCTAssertTrue(shipper.flush(timeout: 20))

        let fileLines = Set(
            directory.lines("p_debug.log").filter { $0.contains("victim line ") }.map {
                $0.components(separatedBy: "victim line ").last!
            })
        XCTAssertEqual(fileLines, Set((1...100).map(String.init)), "every record of the victim is in the file")
        let stored = try Journal.entries(identifier: victim, atLeast: 100)
        XCTAssertEqual(
            Set(stored.compactMap { $0["MESSAGE"] }), Set((1...100).map { "victim line \($0)" }), "and in journald")

        // The attacker's record is its own: its uid, its session, and JB_SEQ written unsigned.
        let own = try Journal.entries(identifier: attacker, atLeast: 1)
        XCTAssertEqual(own.count, 1)
        XCTAssertEqual(own.first?["JB_UID"], "65534")
        XCTAssertEqual(own.first?["JB_SEQ"], "18446744073709551615")
    }

    /// Same uid, another process: also a separate session.
    func testAnotherProcessOfTheSameUserGetsASessionOfItsOwn() throws {
        let session = UInt64.random(in: 1...UInt64.max)
        let owner = try RawClient(path: socketPath)
        owner.send(.hello(Hello(session: session, identifier: "owner")))
        _ = owner.nextFrame()
        owner.send(.batch((1...5).map { record("owner \($0)", UInt64($0)) }))
        var acked: UInt64 = 0
        while acked < 5, case .ack(let n)? = owner.nextFrame() { acked = n }
        XCTAssertEqual(acked, 5)

        let frames = ForkedClient.frames(
            try ForkedClient.exchange(
                path: socketPath,
                bytes: bytes(.hello(Hello(session: session, identifier: "other")), .batch([record("other 3", 3)]))
            ))
        guard case .welcome(_, 0)? = frames.first else {
            return XCTFail("another pid was told about the session: \(frames)")
        }

        // The owner goes on from 6; the other process's record 3 is its own, not a duplicate of the owner's.
        owner.send(.batch((6...8).map { record("owner \($0)", UInt64($0)) }))
        while acked < 8, case .ack(let n)? = owner.nextFrame() { acked = n }
        XCTAssertEqual(acked, 8)
        XCTAssertTrue(eventually { self.directory.lines("p_debug.log").contains { $0.hasSuffix("other 3") } })
        XCTAssertEqual(directory.lines("p_debug.log").filter { $0.contains("owner ") }.count, 8)
    }

    /// Sends `frames` after a hello of a fresh session and expects a goodbye naming `reason`;
    /// none of `unstored` may reach the file.
    private func assertRefused(_ batches: [[LogRecord]], reason: String, unstored: [String], line: UInt = #line) throws
    {
        let client = try RawClient(path: socketPath)
        client.send(.hello(Hello(session: .random(in: 1...UInt64.max), identifier: "sequences")))
        guard case .welcome? = client.nextFrame() else { return XCTFail("no welcome", line: line) }
        for batch in batches { client.send(.batch(batch)) }
        let (frames, closed) = client.framesUntilClosed()
        XCTAssertTrue(closed, "connection closed", line: line)
        guard case .goodbye(let said)? = frames.last else { return XCTFail("no goodbye: \(frames)", line: line) }
        XCTAssertTrue(said.contains(reason), said, line: line)
        XCTAssertTrue(
            eventually {
                self.directory.lines("p_error.log").contains {
                    $0.contains("closed the connection") && $0.contains(reason)
                }
            },
            "reason logged", line: line
        )
        collector.router.flush()
        let stored = directory.lines("p_debug.log")
        for message in unstored {
            XCTAssertFalse(stored.contains { $0.hasSuffix(" " + message) }, "\(message) was stored", line: line)
        }
    }

    func testSequenceZeroIsRefusedWithAReasonAndNothingOfItsBatchIsStored() throws {
        try assertRefused(
            [[record("before zero", 1), record("zero", 0)]], reason: "invalid sequence: sequence 0",
            unstored: ["before zero", "zero"])
    }

    func testSequencesMustIncreaseWithinABatch() throws {
        try assertRefused(
            [[record("twice a", 7), record("twice b", 7)]], reason: "sequence 7 after 7 in one batch",
            unstored: ["twice a", "twice b"])
    }

    func testAJumpBeyondTheWindowIsRefusedAndSmallGapsPass() throws {
        let gap = WireProtocol.maxSequenceGap
        // A session the collector never saw starts where its first record is (a shipper
        // numbering on across a collector restart); then a gap of exactly the window passes.
        let client = try RawClient(path: socketPath)
        client.send(.hello(Hello(session: .random(in: 1...UInt64.max), identifier: "window")))
        guard case .welcome(_, 0)? = client.nextFrame() else { return XCTFail("no welcome") }
        client.send(
            .batch([
                record("restart 1000000", 1_000_000), record("restart 1000002", 1_000_002),
                record("at the window", 1_000_002 + gap),
            ]))
        var acked: UInt64 = 0
        while acked < 1_000_002 + gap, case .ack(let n)? = client.nextFrame() { acked = n }
        XCTAssertEqual(acked, 1_000_002 + gap)

        client.send(.batch([record("next", 1_000_003 + gap), record("beyond the window", 1_000_004 + 2 * gap)]))
        let (frames, closed) = client.framesUntilClosed()
        XCTAssertTrue(closed)
        guard case .goodbye(let said)? = frames.last else { return XCTFail("no goodbye: \(frames)") }
        XCTAssertTrue(said.contains("invalid sequence: sequence \(1_000_004 + 2 * gap) jumps more than \(gap)"), said)
        collector.router.flush()
        let stored = directory.lines("p_debug.log")
        XCTAssertTrue(stored.contains { $0.hasSuffix("at the window") })
        XCTAssertFalse(
            stored.contains { $0.hasSuffix(" next") || $0.hasSuffix("beyond the window") },
            "nothing of the refused batch")
    }
}
