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
}

extension SinkFailureWatch {
    fileprivate func check(_ sink: any LogSink, now: UInt64) -> Report? {
        check(name: sink.name, failed: sink.failedCount, lastFailure: sink.lastFailure, now: now)
    }
}
