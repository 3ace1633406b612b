import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

/// docs/reliability.md, "Hostile clients": the collector's own warnings about clients are
/// aggregated per peer per interval, so a burst of bad connections cannot rotate a
/// genuine ERROR out of the error file, and every violation is still counted.
final class DiagnosticsRateLimitTests: XCTestCase {
    func testABurstOfBadConnectionsDoesNotRotateAGenuineErrorOutAndIsCountedExactly() throws {
        // Small files: 20,000 warnings of ~120 bytes each would rotate through both many times.
        let fixture = try CollectorFixture(
            files: "r",
            sinks: { sinks in
                sinks.maxBytes = 16 * 1024
                sinks.backupCount = 1
            })
        defer { fixture.stop() }
        let (directory, socket) = (fixture.directory, fixture.socketPath)

        let genuine = "genuine error " + UUID().uuidString
        let shipper = fixture.shipper(identifier: "genuine")
        defer { shipper.shutdown() }
        Logger(label: "app") { BridgeLogHandler(label: $0, shipper: shipper) }.error("\(genuine)")
        XCTAssertTrue(shipper.flush(timeout: 20))

        // The burst: from 4 threads, 20,000 connections that each send a zero-length frame,
        // and close once the collector closed them (so each is one violation, none refused
        // for lack of descriptors).
        let total = 20_000
        let threads = 4
        let closedByCollector = ConditionLock(0)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            var mine = 0
            for _ in 0..<(total / threads) {
                guard let client = try? RawClient(path: socket) else { continue }
                client.send([0, 0, 0, 0])
                if client.framesUntilClosed().closed { mine += 1 }
            }
            closedByCollector.withLock { $0 += mine }
        }
        let violations = closedByCollector.withLock { $0 }
        XCTAssertEqual(violations, total, "every bad connection closed by the collector")

        // Every violation is counted: in a full report or in a summary at the end of its interval.
        let me = "pid \(getpid()) uid \(getuid())"
        func counted() -> (full: Int, summarised: Int) {
            let lines = directory.rotated("r_error.log").lines()
            let full = lines.filter {
                $0.contains("closed the connection from \(me)") && $0.contains("zero-length frame")
            }.count
            let summarised = lines.compactMap { line -> Int? in
                guard let range = line.range(of: " more violations from \(me) in the last ") else { return nil }
                return Int(line[..<range.lowerBound].split(separator: " ").last ?? "")
            }.reduce(0, +)
            return (full, summarised)
        }
        XCTAssertTrue(
            eventually(timeout: 60) {
                let c = counted(); return c.full + c.summarised >= violations
            }, "counted: \(counted()) of \(violations)")
        let (full, summarised) = counted()
        XCTAssertEqual(full + summarised, violations, "every violation counted once")
        XCTAssertGreaterThan(summarised, 0, "later violations are summarised, not reported one by one")
        let errorLines = directory.rotated("r_error.log").lines()
        XCTAssertTrue(errorLines.contains { $0.hasSuffix(genuine) }, "the genuine ERROR is still in the error file")
        print(
            "RELIABILITY scenario=diagnostics-burst connections=\(violations) full=\(full) summarised=\(summarised) error-file-lines=\(errorLines.count)"
        )
    }
}
