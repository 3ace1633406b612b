import Foundation
import JournalBridge
import JournalBridgeTestSupport
import Logging
import Synchronization
import XCTest

/// Whatever a program sets in `ShipperConfiguration`, or passes as a timeout, the worker goes
/// on: values are clamped, never trapped on (each of these trapped before: an overflow in the
/// reconnect wait, `UInt64(.infinity)`, `Int.max * 3`).
final class ShipperSettingsTests: XCTestCase {
    func testAReconnectDelayOfZeroOrNonsenseKeepsTheShipperRunning() throws {
        let directory = try TemporaryDirectory()
        for delay: (Double, Double) in [(0, 0), (-1, -1), (.nan, .nan), (0, .infinity), (.infinity, .infinity)] {
            let shipper = RecordShipper(
                configuration: ShipperConfiguration(
                    socketPath: directory.file("nobody-listens.sock"), identifier: "settings", flushAtExit: nil,
                    reconnectDelay: delay))
            for index in 0..<5 { shipper.enqueue(LogRecord(level: .error, message: "kept \(index)")) }
            // Connection attempts fail over and over meanwhile (no collector): with a delay of 0
            // the next attempt is due before the thread looks, which overflowed its wait.
            usleep(300_000)
            XCTAssertEqual(shipper.statistics.held, 5, "delay \(delay): the records are kept for the collector")
            let clamped = shipper.configuration.reconnectDelay
            XCTAssertTrue(
                clamped.minimum >= 0.001 && clamped.maximum >= clamped.minimum && clamped.maximum <= 3600,
                "delay \(delay) became \(clamped)")
            shipper.shutdown(timeout: 0)
        }
    }

    func testCapacityAndBatchSizeAreBroughtIntoRange() {
        var settings = ShipperConfiguration(socketPath: "/nonexistent/jb.sock", flushAtExit: nil)
        settings.capacity = 0  // past the initializer's clamp: a public var
        settings.batchBytes = -1
        var shipper = RecordShipper(configuration: settings)
        XCTAssertEqual(shipper.configuration.capacity, 16)
        XCTAssertEqual(shipper.configuration.batchBytes, 1)
        shipper.shutdown(timeout: 0)
        settings.capacity = .max
        settings.batchBytes = .max
        shipper = RecordShipper(configuration: settings)
        XCTAssertEqual(shipper.configuration.capacity, 1 << 30)
        XCTAssertEqual(shipper.configuration.batchBytes, 4 * 1024 * 1024)
        shipper.shutdown(timeout: 0)
    }

    func testTimeoutsOfAnySizeAreWaitsNotTraps() {
        XCTAssertEqual(MonotonicClock.deadline(after: .infinity), .max)
        XCTAssertEqual(MonotonicClock.deadline(after: 1e300), .max)
        XCTAssertEqual(MonotonicClock.deadline(after: Double(UInt64.max) / 1e9), .max)
        let now = MonotonicClock.now()
        for nothing in [-1.0, -.infinity, .nan, 0] {
            let deadline = MonotonicClock.deadline(after: nothing)
            XCTAssertTrue(deadline >= now && deadline < now + 1_000_000_000, "\(nothing): \(deadline - now) ns")
        }
        // An empty shipper's flush returns at once, whatever the timeout; a NaN wait sheds at once.
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(
                socketPath: "/nonexistent/jb.sock", capacity: 16, overflow: .shedLowPriority(maxWait: .nan),
                flushAtExit: .infinity))
        XCTAssertTrue(shipper.flush(timeout: .infinity))
        for index in 0..<17 { shipper.enqueue(LogRecord(level: .error, message: "record \(index)")) }
        XCTAssertEqual(shipper.statistics.held, 16)
        XCTAssertEqual(shipper.statistics.dropped, 1, "the seventeenth found no room and waited no time")
        XCTAssertEqual(shipper.configuration.overflow, .shedLowPriority(maxWait: 0))
        shipper.shutdown(timeout: 0)
    }
}

/// A metadata value whose `description` logs: it is read on the shipper's thread, which frees
/// the room; its own record, finding none, is shed there, never waited for (under `.block`
/// the thread waited for ever, and with it every logger of the process and `shutdown()`).
final class ShipperOwnThreadTests: XCTestCase {
    private final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    private struct Chatty: CustomStringConvertible, Sendable {
        let logger: Logger
        let allLogged: Flag
        var description: String {
            // Read on the shipper's thread; it logs only once the caller has logged all 16, so that
            // the shipper is full then, whenever the thread happens to flatten (bounded: 10 s).
            for _ in 0..<10_000 where !allLogged.value.load(ordering: .acquiring) { usleep(1000) }
            logger.error("logged from a description")
            return "chatty"
        }
    }

    func testTheShippersOwnThreadNeverWaitsForRoom() {
        // No collector: nothing frees room, so the shipper holds its 16 records; the
        // descriptions' records find it full.
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(
                socketPath: "/nonexistent/jb.sock", identifier: "own-thread", capacity: 16, overflow: .block,
                flushAtExit: nil))
        let logger = Logger(label: "own-thread") {
            BridgeLogHandler(label: $0, shipper: shipper, metadataProvider: nil)
        }
        let allLogged = Flag()
        for index in 0..<16 {
            logger.error(
                "record \(index)", metadata: ["value": .stringConvertible(Chatty(logger: logger, allLogged: allLogged))]
            )
        }
        allLogged.value.store(true, ordering: .releasing)
        // Before any shutdown (whose `closing` let a waiting record go): the thread went on.
        XCTAssertTrue(
            eventually(timeout: 10) { shipper.statistics.dropped == 16 },
            "each description's record shed at once, not waited for: \(shipper.statistics)")
        XCTAssertEqual(shipper.statistics.held, 16)
        shipper.shutdown(timeout: 0)
    }
}
