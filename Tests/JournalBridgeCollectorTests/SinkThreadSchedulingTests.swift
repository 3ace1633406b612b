import Foundation
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
@testable import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

/// A sink that keeps nothing, under a name of its own (its thread is `jb-sched-probe`).
private final class ProbeSink: LogSink, @unchecked Sendable {
    let name = "sched-probe"
    func write(_ records: [LogRecord]) {}
    var failedCount: Int { 0 }
}

/// The journald sink's queue thread runs as `SCHED_BATCH` (`SinkQueue.scheduling(of:)`: woken
/// by journald's own reads, it must not preempt journald), the other sinks' threads keep the
/// process's policy, and direct mode leaves the caller's thread as it was.
final class SinkThreadSchedulingTests: XCTestCase {
    private static let other: Int32 = 0  // SCHED_OTHER
    private static let batch: Int32 = 3  // SCHED_BATCH

    /// Each thread name of this process with the scheduling policies its threads run under
    /// (`/proc/self/task/*/stat`, field 41).
    private func policies() -> [String: Set<Int32>] {
        var result: [String: Set<Int32>] = [:]
        for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
            guard let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8),
                let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // After the name: field 3 (the state) is the first; the policy is field 41.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 38, let policy = Int32(fields[38]) else { continue }
            result[comm.trimmingCharacters(in: .newlines), default: []].insert(policy)
        }
        return result
    }

    func testTheJournaldSinksThreadAloneRunsAsBatch() {
        let journald = JournaldSink(attributeObjectPID: false, backlogCapacity: 10) { _, _ in 0 }
        let router = Router(
            routes: [SinkRoute(journald, minimumLevel: .trace), SinkRoute(ProbeSink(), minimumLevel: .trace)],
            queueCapacity: 16, budget: nil)
        defer { router.close() }
        router.route([LogRecord(level: .info, message: "one")])
        router.flush()
        // Each queue's thread sets its policy as it starts.
        XCTAssertTrue(eventually { policies()["jb-journald"] == [Self.batch] }, "\(policies())")
        XCTAssertEqual(policies()["jb-sched-probe"], [Self.other], "\(policies())")
        XCTAssertEqual(sched_getscheduler(0), Self.other, "the thread that made the router is as it was")
    }

    func testDirectModeLeavesTheCallersThreadAsItWas() {
        let sent = ConditionLock(0)
        let journald = JournaldSink(attributeObjectPID: false, backlogCapacity: 10) { _, _ in
            sent.withLock { $0 += 1 }
            return 0
        }
        let router = Router(routes: [SinkRoute(journald, minimumLevel: .trace)])
        defer { router.close() }
        router.route([LogRecord(level: .info, message: "one")])
        XCTAssertEqual(sent.withLock { $0 }, 1, "written on this thread")
        XCTAssertEqual(sched_getscheduler(0), Self.other)
    }
}
