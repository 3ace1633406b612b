import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A sink that keeps, per record, what a test asks of it (records themselves may be megabytes).
final class RecordingSink<Summary: Sendable>: LogSink, @unchecked Sendable {
    let name = "recording"
    var failedCount: Int { 0 }
    private let summarize: @Sendable (LogRecord) -> Summary
    private let lock = NSLock()
    private var kept: [Summary] = []

    init(_ summarize: @escaping @Sendable (LogRecord) -> Summary) { self.summarize = summarize }

    func write(_ records: [LogRecord]) {
        let summaries = records.map(summarize)
        lock.withLock { kept += summaries }
    }

    var summaries: [Summary] { lock.withLock { kept } }
}

extension RecordingSink where Summary == LogRecord {
    convenience init() { self.init { $0 } }
}

/// A collector with a stricter rule than the shipper knows (as a newer or differently built
/// collector might have): a batch holding a record it refuses gets a goodbye and the connection
/// is closed, like the real collector's protocol-violation close. Like the real one, it routes
/// every batch before the refused one, drops resent records it already routed, stores after
/// `storeDelay` (a slow sink), acknowledges what is stored only to the connection that routed it,
/// and welcomes and acknowledges a resend with what is stored.
final class RefusingCollector: @unchecked Sendable {
    let path: String
    private let listener: Int32
    private let refuses: @Sendable (LogRecord) -> Bool
    private let storeDelay: Double
    private let lock = NSLock()
    private var storedRecords: [LogRecord] = []
    private var routedThrough: UInt64 = 0
    private var storedThrough: UInt64 = 0
    /// Routed, not yet stored: (when, records).
    private var storing: [(due: Date, records: [LogRecord])] = []
    private var accepted = 0
    private var stopping = false
    private var done = false

    init(path: String, storeDelay: Double = 0, refuses: @escaping @Sendable (LogRecord) -> Bool) throws {
        self.path = path
        self.refuses = refuses
        self.storeDelay = storeDelay
        listener = try UnixSocket.listen(path: path)
        Thread.detachNewThread { [self] in run() }
    }

    var stored: [LogRecord] { lock.withLock { storedRecords } }
    var connections: Int { lock.withLock { accepted } }

    func stop() {
        lock.withLock { stopping = true }
        while !lock.withLock({ done }) { usleep(10_000) }
        close(listener)
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func run() {
        defer { lock.withLock { done = true } }
        while !isStopping {
            var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 20) > 0 else {
                _ = store()
                continue
            }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            lock.withLock { accepted += 1 }
            serve(fd)
            close(fd)
        }
    }

    private func send(_ fd: Int32, _ frame: Frame) {
        var encoder = FrameEncoder()
        encoder.encode(frame)
        _ = encoder.bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Stores what is due; true when it stored anything.
    private func store() -> Bool {
        lock.withLock {
            var any = false
            while let first = storing.first, first.due <= Date() {
                storing.removeFirst()
                storedRecords += first.records
                storedThrough = max(storedThrough, first.records.last?.sequence ?? 0)
                any = true
            }
            return any
        }
    }

    private func serve(_ fd: Int32) {
        XCTAssertNoThrow(try UnixSocket.setTimeout(fd, option: SO_RCVTIMEO, seconds: 0.02))
        var decoder = FrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var ackSent: UInt64 = 0
        /// Routed on this connection and not yet acknowledged on it.
        var routedHere: UInt64 = 0
        func acknowledge() {
            let stored = lock.withLock { storedThrough }
            if stored > ackSent {
                send(fd, .ack(stored))
                ackSent = stored
            }
        }
        while !isStopping {
            if store() && routedHere > ackSent { acknowledge() }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                return
            }
            decoder.append(buffer[0..<n])
            while let frame = try? decoder.nextFrame() {
                switch frame {
                case .hello:
                    ackSent = lock.withLock { storedThrough }
                    send(fd, .welcome(version: WireProtocol.version, acknowledged: ackSent))
                case .batch(let records):
                    if records.contains(where: refuses) {
                        send(fd, .goodbye(reason: "limit exceeded: refused by the test"))
                        return
                    }
                    let fresh = lock.withLock { () -> [LogRecord] in
                        let fresh = records.filter { $0.sequence > routedThrough }
                        if let last = fresh.last {
                            routedThrough = last.sequence
                            storing.append((Date().addingTimeInterval(storeDelay), fresh))
                        }
                        return fresh
                    }
                    if let last = fresh.last { routedHere = last.sequence }
                    _ = store()
                    acknowledge()
                default:
                    return
                }
            }
        }
    }
}

/// Issue 9, items 2 and 3: no log call can wedge or crash a worker's logging, and a record the
/// collector still refuses is dropped alone, counted and reported while the others flow.
final class PoisonRecordTests: XCTestCase {
    private func metadata(_ count: Int) -> Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        metadata.reserveCapacity(count)
        for index in 0..<count { metadata[String(format: "k%05d", index)] = "\(index)" }
        return metadata
    }

    func testOneCallWithMoreThanAThousandMetadataEntriesDoesNotHoldUpTheRecordsAfterIt() throws {
        let sink = RecordingSink()
        let fixture = try CollectorFixture(sink: sink)
        defer { fixture.stop() }
        let shipper = fixture.shipper(identifier: "poison")
        defer { shipper.shutdown(timeout: 0) }
        let logger = Logger(label: "poison") { BridgeLogHandler(label: $0, shipper: shipper, metadataProvider: nil) }

        logger.info("1,001 entries", metadata: metadata(1001))
        for index in 1...5 { logger.info("after \(index)") }

        XCTAssertTrue(shipper.flush(timeout: 20), "every record acknowledged: \(shipper.statistics)")
        let records = sink.summaries
        XCTAssertEqual(records.map(\.message), ["1,001 entries"] + (1...5).map { "after \($0)" })
        XCTAssertEqual(records.first?.metadata.count, WireProtocol.maxMetadataPerRecord)
        XCTAssertEqual(records.first?.metadata.last, MetadataField(LogRecord.droppedMetadataKey, "2"))
        XCTAssertEqual(shipper.statistics.reconnects, 1, "one connection, never refused")
    }

    func testSeventyThousandMetadataEntriesNeitherCrashNorWedgeAndArriveClampedWithANote() throws {
        let sink = RecordingSink()
        let fixture = try CollectorFixture(sink: sink)
        defer { fixture.stop() }
        let shipper = fixture.shipper(identifier: "poison")
        defer { shipper.shutdown(timeout: 0) }
        var logger = Logger(label: "poison") { BridgeLogHandler(label: $0, shipper: shipper, metadataProvider: nil) }
        logger[metadataKey: "handler"] = "h"

        logger.warning("70,000 entries", metadata: metadata(70_000))
        logger.info("after")

        XCTAssertTrue(shipper.flush(timeout: 30), "every record acknowledged: \(shipper.statistics)")
        let records = sink.summaries
        XCTAssertEqual(records.map(\.message), ["70,000 entries", "after"])
        XCTAssertEqual(records.first?.metadata.count, WireProtocol.maxMetadataPerRecord)
        // 70,000 of the call's and 1 of the handler's; 999 kept in key order, the rest counted.
        XCTAssertEqual(records.first?.metadata.last, MetadataField(LogRecord.droppedMetadataKey, String(70_001 - 999)))
        XCTAssertEqual(records.first?.metadata.first, MetadataField("handler", "h"))
        XCTAssertEqual(records.last?.metadata, [MetadataField("handler", "h")])
    }

    func testARecordTheCollectorRefusesIsDroppedAloneCountedAndReportedAndTheOthersFlow() throws {
        let directory = try TemporaryDirectory()
        let fake = try RefusingCollector(path: directory.file("strict.sock")) { $0.message.hasPrefix("POISON") }
        defer { fake.stop() }
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(socketPath: fake.path, identifier: "poison", flushAtExit: nil))
        defer { shipper.shutdown(timeout: 0) }
        let logger = Logger(label: "poison") { BridgeLogHandler(label: $0, shipper: shipper, metadataProvider: nil) }

        // One burst, so the poison shares its batches with good records; two poisons, one at the end.
        var expected: [String] = []
        for index in 1...300 {
            if index == 120 || index == 300 {
                logger.error("POISON \(index)")
            } else {
                logger.info("good \(index)")
                expected.append("good \(index)")
            }
        }
        logger.info("after the burst")
        expected.append("after the burst")

        XCTAssertTrue(shipper.flush(timeout: 30), "flushed: \(shipper.statistics)")
        let stored = fake.stored
        let reports = stored.filter { $0.label == "journal-bridge" }
        XCTAssertEqual(
            stored.filter { $0.label != "journal-bridge" }.map(\.message), expected, "every other record, in order")
        XCTAssertEqual(
            reports.map(\.message),
            Array(
                repeating: "dropped 1 record: refused by the collector: limit exceeded: refused by the test", count: 2))
        XCTAssertEqual(
            reports.first?.metadata,
            [MetadataField("dropped", "1"), MetadataField("reason", "limit exceeded: refused by the test")])
        XCTAssertEqual(reports.first?.level, .warning)
        XCTAssertEqual(shipper.statistics.refused, 2)
        XCTAssertEqual(shipper.statistics.held, 0)
        XCTAssertLessThanOrEqual(fake.connections, 12, "each poison costs a few reconnects, not a loop")
        print("PoisonRecordTests: 2 of 301 refused, \(stored.count) stored, \(fake.connections) connections")
    }

    func testIsolationGetsPastRecordsTheCollectorRoutedButHadNotStoredAtTheRefusal() throws {
        // Small batches and a slow sink: when the poison's batch is refused, the batches before it
        // are routed but not stored, so the next connection's welcome does not cover them and
        // their acks went to the closed connection. Resent alone, they are duplicates the
        // collector acknowledges only when asked again once they are stored.
        let directory = try TemporaryDirectory()
        let fake = try RefusingCollector(path: directory.file("slow.sock"), storeDelay: 0.3) {
            $0.message.hasPrefix("POISON")
        }
        defer { fake.stop() }
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(
                socketPath: fake.path, identifier: "poison", flushAtExit: nil, batchBytes: 200)
        )
        defer { shipper.shutdown(timeout: 0) }
        var expected: [String] = []
        for index in 1...40 {
            if index == 25 {
                shipper.enqueue(LogRecord(level: .error, message: "POISON \(index)", origin: .unattributed))
            } else {
                shipper.enqueue(LogRecord(level: .info, message: "good \(index)", origin: .unattributed))
                expected.append("good \(index)")
            }
        }
        XCTAssertTrue(shipper.flush(timeout: 30), "flushed: \(shipper.statistics)")
        let stored = fake.stored
        XCTAssertEqual(stored.filter { $0.label != "journal-bridge" }.map(\.message), expected)
        XCTAssertEqual(stored.filter { $0.label == "journal-bridge" }.count, 1)
        XCTAssertEqual(shipper.statistics.refused, 1)
        print("PoisonRecordTests: slow sink, 1 of 40 refused, \(fake.connections) connections")
    }

    func testACollectorThatRefusesEverythingIsRetriedWithBackoffNotInALoop() throws {
        let directory = try TemporaryDirectory()
        let fake = try RefusingCollector(path: directory.file("strict.sock")) { _ in true }
        defer { fake.stop() }
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(
                socketPath: fake.path, identifier: "poison", flushAtExit: nil, reconnectDelay: (0.05, 0.4)
            )
        )
        defer { shipper.shutdown(timeout: 0) }
        for index in 1...3 {
            shipper.enqueue(LogRecord(level: .info, message: "refused \(index)", origin: .unattributed))
        }
        Thread.sleep(forTimeInterval: 2)
        // Without backoff a refused resend reconnects every 50 ms (40 in 2 s); with it the waits
        // double (0.05, 0.1, 0.2, 0.4, 0.4 ...) while the collector never acknowledges anything.
        XCTAssertGreaterThanOrEqual(fake.connections, 2)
        XCTAssertLessThanOrEqual(fake.connections, 12)
        XCTAssertGreaterThanOrEqual(
            shipper.statistics.refused, 1, "refused records are dropped one by one, not resent forever")
        XCTAssertTrue(fake.stored.isEmpty)
        print(
            "PoisonRecordTests: refusing everything for 2 s: \(fake.connections) connections, \(shipper.statistics.refused) refused"
        )
    }

    /// Issue 9, item 10: socket and direct mode cut a big record the same way, with an exact note.
    func testDirectAndSocketModeCutABigRecordTheSame() throws {
        let size = 64 * 1024 * 1024
        let message = String(repeating: "é", count: size / 2)
        let fields = metadata(1500)
        let label = String(repeating: "l", count: 3 * 1024 * 1024)

        let viaSocket = RecordingSink()
        let fixture = try CollectorFixture(sink: viaSocket)
        defer { fixture.stop() }
        let shipper = fixture.shipper(identifier: "cut")
        defer { shipper.shutdown(timeout: 0) }
        Logger(label: label) { BridgeLogHandler(label: $0, shipper: shipper, metadataProvider: nil) }
            .info("\(message)", metadata: fields)
        XCTAssertTrue(shipper.flush(timeout: 30))

        let direct = RecordingSink()
        let router = Router(routes: [SinkRoute(direct, minimumLevel: .trace)])
        Logger(label: label) { DirectLogHandler(label: $0, router: router, metadataProvider: nil) }
            .info("\(message)", metadata: fields)

        let (socketRecord, directRecord) = (
            try XCTUnwrap(viaSocket.summaries.first), try XCTUnwrap(direct.summaries.first)
        )
        XCTAssertEqual(directRecord.message.utf8.count, socketRecord.message.utf8.count, "the same cut")
        XCTAssertTrue(directRecord.message == socketRecord.message)
        XCTAssertTrue(directRecord.label == socketRecord.label)
        XCTAssertEqual(directRecord.metadata, socketRecord.metadata)
        XCTAssertLessThanOrEqual(directRecord.message.utf8.count, WireProtocol.maxFieldBytes)
        let note = try XCTUnwrap(directRecord.message.range(of: "…[truncated "))
        let kept = directRecord.message[..<note.lowerBound].utf8.count
        XCTAssertEqual(directRecord.message[note.lowerBound...], "…[truncated \(size - kept) bytes]")
        XCTAssertEqual(directRecord.metadata.last, MetadataField(LogRecord.droppedMetadataKey, "501"))
    }

    /// The same through `journal-bridge send`: `--direct` and through a collector cut a 3 MiB line alike.
    func testSendDirectAndThroughACollectorCutALongLineTheSame() throws {
        let size = 3 * 1024 * 1024
        let line = Array(repeating: UInt8(ascii: "z"), count: size) + [UInt8(ascii: "\n")]
        let viaSocket = RecordingSink()
        let fixture = try CollectorFixture(sink: viaSocket)
        defer { fixture.stop() }
        let (directory, socket) = (fixture.directory, fixture.socketPath)
        let sent = try Run.journalBridge(["send", "--socket", socket, "-"], stdin: line)
        XCTAssertEqual(sent.status, 0, sent.stderrText)
        let direct = try Run.journalBridge(
            ["send", "--direct", "--no-journald", "--base", directory.file("cli"), "-"], stdin: line
        )
        XCTAssertEqual(direct.status, 0, direct.stderrText)

        let message = try XCTUnwrap(viaSocket.summaries.first?.message)
        let lines = directory.lines("cli_debug.log")
        XCTAssertEqual(lines.count, 1)
        let written = try XCTUnwrap(lines.first?.range(of: "] INFO : ")).upperBound
        XCTAssertTrue(lines[0][written...] == message, "the same bytes in both modes")
        let kept = message.utf8.prefix { $0 == UInt8(ascii: "z") }.count
        XCTAssertEqual(String(message.utf8.dropFirst(kept))!, "…[truncated \(size - kept) bytes]")
        XCTAssertLessThanOrEqual(message.utf8.count, WireProtocol.maxFieldBytes)
    }
}
