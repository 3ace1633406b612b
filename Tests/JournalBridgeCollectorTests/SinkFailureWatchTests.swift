import JournalBridge
@testable import JournalBridgeCollector
import Synchronization
import XCTest

/// The router's report of a sink's failures: at once for the first, then at most once a second
/// with the sum, and never about the router's own reports failing (two sinks failing at once).
final class SinkFailureWatchTests: XCTestCase {
    private final class FailingSink: LogSink {
        let name = "fake"
        let failed = Atomic<Int>(0)
        func write(_ records: [LogRecord]) {}
        var failedCount: Int { failed.load(ordering: .relaxed) }
        var lastFailure: String? { "write: No space left on device (errno 28)" }
    }

    func testReportsAtOnceThenAtMostOnceASecondAndNotTheRoutersOwnReports() {
        let sink = FailingSink()
        let watch = SinkFailureWatch()
        let second: UInt64 = 1_000_000_000
        XCTAssertNil(watch.check(sink, now: 5 * second), "nothing failed")

        sink.failed.store(1, ordering: .relaxed)
        let first = watch.check(sink, now: 5 * second)
        XCTAssertEqual(
            first?.message,
            "fake could not write 1 records (write: No space left on device (errno 28)); 1 in all. They were acknowledged; the other sinks are not affected"
        )
        XCTAssertEqual(
            first?.metadata,
            [
                MetadataField("sink", "fake"), MetadataField("failed", "1"), MetadataField("failed.total", "1"),
                MetadataField("reason", "write: No space left on device (errno 28)"),
            ])

        sink.failed.store(3, ordering: .relaxed)
        XCTAssertNil(watch.check(sink, now: 5 * second + second / 2), "within the second: summed later")
        XCTAssertEqual(watch.check(sink, now: 6 * second + second / 10)?.metadata[1], MetadataField("failed", "2"))

        watch.willReceiveReport()
        sink.failed.store(4, ordering: .relaxed)
        XCTAssertNil(watch.check(sink, now: 8 * second), "only the router's report failed: not reported back")
        sink.failed.store(6, ordering: .relaxed)
        XCTAssertEqual(watch.check(sink, now: 9 * second)?.metadata[2], MetadataField("failed.total", "6"))
    }

    func testOneRecoveryReportAfterAnEpisodeOnceTheSinkWritesAgainForASecond() {
        let sink = FailingSink()
        let watch = SinkFailureWatch()
        let second: UInt64 = 1_000_000_000
        XCTAssertNil(
            watch.checkRecovery(name: sink.name, failed: sink.failedCount, written: 10, now: second),
            "no episode, no recovery")
        sink.failed.store(5, ordering: .relaxed)
        XCTAssertNotNil(watch.check(sink, now: 2 * second))
        XCTAssertNil(
            watch.checkRecovery(name: sink.name, failed: sink.failedCount, written: 10, now: 2 * second), "just failed")
        XCTAssertNil(
            watch.checkRecovery(name: sink.name, failed: sink.failedCount, written: 20, now: 2 * second + second / 2),
            "not a second yet")
        let recovered = watch.checkRecovery(name: sink.name, failed: sink.failedCount, written: 30, now: 3 * second + 1)
        XCTAssertEqual(recovered?.event, .recovered)
        XCTAssertEqual(recovered?.message, "fake is writing again; 5 records were lost in the episode, 5 in all")
        XCTAssertNil(
            watch.checkRecovery(name: sink.name, failed: sink.failedCount, written: 40, now: 5 * second),
            "once per episode")
    }
}

extension SinkFailureWatch {
    fileprivate func check(_ sink: any LogSink, now: UInt64) -> Report? {
        check(name: sink.name, failed: sink.failedCount, lastFailure: sink.lastFailure, now: now)
    }
}
