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
    private static func policies() -> [String: Set<Int32>] {
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
        XCTAssertTrue(eventually { Self.policies()["jb-journald"] == [Self.batch] }, "\(Self.policies())")
        XCTAssertEqual(Self.policies()["jb-sched-probe"], [Self.other], "\(Self.policies())")
        XCTAssertEqual(sched_getscheduler(0), Self.other, "the thread that made the router is as it was")
    }

    /// A policy the process was given (here SCHED_IDLE, as `CPUSchedulingPolicy=idle` or
    /// `chrt -i` would give it, which threads inherit) is the administrator's: it stays.
    func testAPolicyTheProcessWasGivenStays() {
        let idle: Int32 = 5  // SCHED_IDLE
        let observed = ConditionLock<[String: Set<Int32>]?>(nil)
        let thread = Thread {
            var param = sched_param()
            guard pthread_setschedparam(pthread_self(), idle, &param) == 0 else { return }
            let router = Router(
                routes: [
                    SinkRoute(
                        JournaldSink(attributeObjectPID: false, backlogCapacity: 10) { _, _ in 0 }, minimumLevel: .trace
                    )
                ],
                queueCapacity: 16, budget: nil)
            router.route([LogRecord(level: .info, message: "one")])
            router.flush()
            // The queue's thread inherited SCHED_IDLE, then kept it.
            _ = eventually(timeout: 2) { Self.policies()["jb-journald"]?.contains(idle) == true }
            observed.withLock { $0 = Self.policies() }
            router.close()
        }
        thread.start()
        XCTAssertTrue(eventually { observed.withLock { $0 } != nil })
        let policies = observed.withLock { $0 } ?? [:]
        XCTAssertTrue(policies["jb-journald"]?.contains(idle) == true, "\(policies)")
        XCTAssertEqual(policies["jb-journald"]?.contains(Self.batch), false, "\(policies)")
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
