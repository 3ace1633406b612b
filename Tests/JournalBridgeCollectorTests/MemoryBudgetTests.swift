import Foundation
import JournalBridge
import JournalBridgeDaemon
import JournalBridgeTestSupport
import Logging
import Synchronization
import XCTest

@testable import JournalBridgeCollector

/// The collector's memory budget: its accounting, the sink queues' use of the record
/// share, and the `memory_limit` setting.
final class MemoryBudgetTests: XCTestCase {
    func testFrameReservationsAddUpAndNeverGoNegative() {
        let budget = MemoryBudget(limit: 1000)
        XCTAssertEqual(budget.frameLimit + budget.recordLimit, 1000)
        XCTAssertTrue(budget.reserveFrame(300))
        XCTAssertTrue(budget.reserveFrame(200))
        XCTAssertFalse(budget.reserveFrame(1), "the frame share is full")
        XCTAssertEqual(budget.current.frames, 500)
        XCTAssertEqual(budget.freeFrameBytes, 0)
        budget.releaseFrame(200)
        XCTAssertTrue(budget.reserveFrame(150))
        XCTAssertEqual(
            budget.current, MemoryBudget.Usage(frames: 450, records: 0), "frames never touch the record share")
        budget.releaseFrame(450)
        XCTAssertEqual(budget.current.frames, 0)
        // Large frames leave the last eighth to small ones.
        XCTAssertTrue(budget.reserveFrame(400, large: true))
        XCTAssertFalse(budget.reserveFrame(39, large: true), "439 > 500 - 500 / 8")
        XCTAssertTrue(budget.reserveFrame(38, large: true))
        XCTAssertTrue(budget.reserveFrame(62), "a small frame may use the kept slice")
        XCTAssertEqual(budget.current.frames, 500)
        budget.releaseFrame(500)
        // One frame larger than the whole share passes alone, and nothing beside it.
        XCTAssertTrue(budget.reserveFrame(10_000))
        XCTAssertFalse(budget.reserveFrame(1))
        budget.releaseFrame(10_000)

        // A random walk of reservations and releases, checked against a model.
        var held: [Int] = []
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            if !held.isEmpty && Bool.random(using: &generator) {
                budget.releaseFrame(held.remove(at: Int.random(in: 0..<held.count, using: &generator)))
            } else {
                let bytes = Int.random(in: 1...200, using: &generator)
                let expected = held.isEmpty || held.reduce(0, +) + bytes <= budget.frameLimit
                XCTAssertEqual(budget.wouldFit(bytes, large: false), expected)
                XCTAssertEqual(budget.reserveFrame(bytes), expected)
                if expected { held.append(bytes) }
            }
            let frames = budget.current.frames
            XCTAssertEqual(frames, held.reduce(0, +))
            XCTAssertGreaterThanOrEqual(frames, 0)
            XCTAssertLessThanOrEqual(frames, budget.frameLimit)
        }
        for bytes in held { budget.releaseFrame(bytes) }
        XCTAssertEqual(budget.current, MemoryBudget.Usage())
    }

    func testAFullRecordShareHoldsTheRouterBackUntilTheSinkWrites() throws {
        let record = LogRecord(level: .info, message: String(repeating: "m", count: 1000))
        let recordBytes = MemoryBudget.approximateBytes(of: record)
        XCTAssertGreaterThan(recordBytes, 1000)
        // A record share of 10 records; the queue itself would take 16,384.
        let budget = MemoryBudget(limit: 20 * recordBytes)
        let sink = GatedSink()
        let router = Router(routes: [SinkRoute(sink, minimumLevel: .debug)], queueCapacity: 16384, budget: budget)
        let routed = Atomic<Int>(0)
        let stored = Atomic<Int>(0)
        let producer = Thread {
            for _ in 0..<100 {
                router.route([record]) { stored.add(1, ordering: .relaxed) }
                routed.add(1, ordering: .relaxed)
            }
        }
        producer.start()
        // The sink is stuck: the producer gets exactly as far as the share allows.
        XCTAssertTrue(eventually { routed.load(ordering: .relaxed) == 10 })
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(routed.load(ordering: .relaxed), 10, "past the record share, routing waits")
        XCTAssertEqual(budget.current.records, 10 * recordBytes)
        XCTAssertLessThanOrEqual(budget.current.records, budget.recordLimit)
        sink.open()
        XCTAssertTrue(eventually { routed.load(ordering: .relaxed) == 100 })
        router.flush()
        XCTAssertEqual(sink.written, 100, "nothing lost")
        XCTAssertTrue(eventually { stored.load(ordering: .relaxed) == 100 })
        XCTAssertEqual(budget.current, MemoryBudget.Usage(), "every byte given back")
        router.close()
    }

    func testADropQueueDropsWhatTheRecordShareCannotHoldAndCountsIt() {
        let record = LogRecord(level: .info, message: String(repeating: "d", count: 1000))
        let budget = MemoryBudget(limit: 6 * MemoryBudget.approximateBytes(of: record))
        let sink = GatedSink()
        let queue = SinkQueue(sink, capacity: 16384, overflow: .drop, budget: budget)
        for _ in 0..<10 { queue.enqueue([record], ticket: nil) }
        XCTAssertLessThanOrEqual(budget.current.records, budget.recordLimit)
        XCTAssertEqual(queue.failedCount, 7, "3 fit in the share, 7 dropped and counted")
        sink.open()
        queue.flush()
        XCTAssertEqual(sink.written, 3)
        XCTAssertEqual(budget.current, MemoryBudget.Usage())
        queue.close()
    }

    func testTheDecoderTellsThePendingFrameSizeOnceItsHeaderIsIn() throws {
        var encoder = FrameEncoder()
        encoder.encode(.ack(7))
        let ack = encoder.bytes
        var decoder = FrameDecoder()
        decoder.append(ack + [0x00, 0x80])
        XCTAssertNotNil(try decoder.nextFrame())
        XCTAssertNil(try decoder.nextFrame())
        XCTAssertNil(decoder.pendingFrameBytes, "two bytes of a header say nothing yet")
        decoder.append([0x00, 0x00, 0x03])
        XCTAssertNil(try decoder.nextFrame())
        XCTAssertEqual(decoder.pendingFrameBytes, 4 + (8 << 20), "the declared length, prefix included")
        XCTAssertEqual(decoder.bufferedByteCount, 5)
    }

    func testMemoryLimitSetting() throws {
        XCTAssertEqual(MemoryBudget.parseSize("256M"), 256 << 20)
        XCTAssertEqual(MemoryBudget.parseSize("64MiB"), 64 << 20)
        XCTAssertEqual(MemoryBudget.parseSize("1g"), 1 << 30)
        XCTAssertEqual(MemoryBudget.parseSize("512K"), 512 << 10)
        XCTAssertEqual(MemoryBudget.parseSize("1048576"), 1 << 20)
        for bad in ["", "M", "-1M", "1.5G", "12X", "99999999999999999G", " 1M"] {
            XCTAssertNil(MemoryBudget.parseSize(bad), bad)
        }
        XCTAssertEqual(try DaemonConfiguration.parse("", source: "t").memoryLimit, 256 << 20)
        XCTAssertEqual(try DaemonConfiguration.parse("memory_limit = \"64M\"\n", source: "t").memoryLimit, 64 << 20)
        XCTAssertEqual(try DaemonConfiguration.parse("memory_limit = 33_554_432\n", source: "t").memoryLimit, 32 << 20)
        for bad in ["memory_limit = \"1M\"\n", "memory_limit = \"lots\"\n", "memory_limit = true\n"] {
            XCTAssertThrowsError(try DaemonConfiguration.parse(bad, source: "t"), bad) { error in
                XCTAssertTrue("\(error)".contains("memory_limit"), "\(error)")
            }
        }
    }
}

/// A sink that writes nothing until opened, to hold records in its queue.
private final class GatedSink: LogSink, @unchecked Sendable {
    private let state = ConditionLock((open: false, written: 0))
    let name = "gated"
    var failedCount: Int { 0 }

    func write(_ records: [LogRecord]) {
        state.wait(until: { $0.open }) { state, _ in state.written += records.count }
    }

    func open() {
        state.withLock { $0.open = true }
        state.broadcast()
    }

    var written: Int { state.withLock { $0.written } }
}
