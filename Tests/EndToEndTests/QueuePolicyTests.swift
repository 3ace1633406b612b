import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

/// The shipper's bounded queue while the collector is away: DEBUG/INFO are shed and
/// counted, WARNING+ kept, and the drop report arrives once the collector is back.
final class QueuePolicyTests: XCTestCase {
    func testFullQueueShedsLowPriorityKeepsWarningsAndReportsTheDrops() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.file("c.sock")  // nobody listens yet
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(
                socketPath: socketPath, identifier: "policy", capacity: 100, overflow: .shedLowPriority(maxWait: 0.05),
                flushAtExit: nil, reconnectDelay: (0.02, 0.1)
            )
        )
        var logger = Logger(label: "policy") { BridgeLogHandler(label: $0, shipper: shipper) }
        logger.logLevel = .debug
        for i in 0..<200 {
            logger.info("info \(i)")
            if i % 10 == 9 { logger.warning("warning \(i / 10)") }
        }
        var statistics = shipper.statistics
        XCTAssertGreaterThan(
            statistics.held, 75, "INFO stops at 3/4 of the capacity; the WARNINGs after that still fit")
        XCTAssertLessThan(statistics.held, 100)
        let shedInfo = statistics.dropped
        XCTAssertGreaterThan(shedInfo, 100)
        var fillers = 0
        while shipper.statistics.held < 100 {
            logger.warning("warning filler \(fillers)")
            fillers += 1
        }
        XCTAssertEqual(shipper.statistics.dropped, shedInfo, "WARNINGs use the reserved quarter")

        // Full to the brim: a WARNING waits its bounded time, then is shed and counted too.
        let started = Date()
        logger.error("error that finds no room")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.04)
        statistics = shipper.statistics
        XCTAssertEqual(statistics.dropped, shedInfo + 1)

        let collector = Collector(
            configuration: CollectorConfiguration(socketPath: socketPath),
            routes: try SinkConfiguration(base: directory.file("q"), consoleLevel: nil, journaldLevel: nil, maxBytes: 0)
                .makeRoutes()
        )
        try collector.start()
        XCTAssertTrue(shipper.flush(timeout: 20))
        shipper.shutdown()
        collector.stop()

        let debug = directory.lines("q_debug.log")
        XCTAssertEqual(debug.filter { $0.contains("WARNING : warning ") }.count, 20 + fillers, "every warning survived")
        XCTAssertEqual(debug.filter { $0.contains("INFO : info ") }.count, 200 - (shedInfo))
        let report = directory.lines("q_error.log").filter { $0.contains("records: queue full") }
        XCTAssertEqual(report.count, 1, "\(directory.lines("q_error.log"))")
        XCTAssertTrue(report[0].hasSuffix("WARNING : dropped \(shedInfo + 1) records: queue full"), report[0])
    }

    func testBlockPolicyLosesNothing() throws {
        let fixture = try CollectorFixture(files: "b", configure: { $0.sinkQueueCapacity = 64 })
        let (directory, socketPath, collector) = (fixture.directory, fixture.socketPath, fixture.collector)
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(
                socketPath: socketPath, identifier: "block", capacity: 16, overflow: .block, flushAtExit: nil)
        )
        var logger = Logger(label: "block") { BridgeLogHandler(label: $0, shipper: shipper) }
        logger.logLevel = .debug
        for i in 0..<5000 { logger.debug("n \(i)") }
        XCTAssertTrue(shipper.flush(timeout: 30))
        XCTAssertEqual(shipper.statistics.dropped, 0)
        shipper.shutdown()
        collector.stop()
        XCTAssertEqual(directory.lines("b_debug.log").map { Int($0.split(separator: " ").last!)! }, Array(0..<5000))
    }
}
