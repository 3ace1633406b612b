import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import XCTest

/// A poll(2) that fails for another reason than a signal is not a signal: the collector says
/// so once, retries without spinning, and says when it works again.
final class PollFailureTests: XCTestCase {
    func testAPollThatFailsIsReportedOnceAndTheCollectorRecovers() throws {
        // In memory: while the descriptor limit is lowered, the test could not open a file to read.
        let sink = RecordingSink { $0.message }
        let fixture = try CollectorFixture(sink: sink)
        defer { fixture.stop() }
        // 40 connections: poll watches 42 descriptors, more than the limit set below allows (EINVAL).
        let clients = try (0..<40).map { _ in try RawClient(path: fixture.socketPath) }
        XCTAssertTrue(eventually { fixture.collector.connectionCount == clients.count })
        var original = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &original), 0)
        var lowered = original
        lowered.rlim_cur = 20
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered), 0)
        // The loop polls again on its next wake-up: a new connection attempt (refused here: no
        // descriptor left to make it, which is fine) or the diagnostics timer; a client's bytes do it.
        clients[0].send([0, 0, 0])
        let failed = eventually(timeout: 10) { sink.summaries.contains { $0.contains("poll failed") } }
        Thread.sleep(forTimeInterval: 0.5)  // several retries while it still fails
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &original), 0)
        XCTAssertTrue(failed, "\(sink.summaries)")
        XCTAssertTrue(eventually { sink.summaries.contains { $0.contains("poll works again") } }, "\(sink.summaries)")
        let said = sink.summaries.filter { $0.contains("poll failed") }
        XCTAssertEqual(said.count, 1, "said once: \(said)")
        XCTAssertTrue(said.first?.contains("Invalid argument") == true, "\(said)")
        _ = clients
    }
}
