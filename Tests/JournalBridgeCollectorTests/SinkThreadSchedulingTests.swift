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

    /// The policies of the threads named `name` that were not in `before` (ids): the threads a
    /// test started, not those another test may have left.
    private static func policies(of name: String, notIn before: Set<Int>) -> Set<Int32> {
        Set(taskThreads().filter { $0.name == name && !before.contains($0.id) }.compactMap(\.policy))
    }

    func testTheJournaldSinksThreadAloneRunsAsBatch() throws {
        try XCTSkipUnless(sched_getscheduler(0) == Self.other, "the test runner itself is not under SCHED_OTHER")
        let before = Set(taskThreads().map(\.id))
        let journald = JournaldSink(attributeObjectPID: false, backlogCapacity: 10) { _, _ in 0 }
        let router = Router(
            routes: [SinkRoute(journald, minimumLevel: .trace), SinkRoute(ProbeSink(), minimumLevel: .trace)],
            queueCapacity: 16, budget: nil)
        defer { router.close() }
        router.route([LogRecord(level: .info, message: "one")])
        // Each queue's thread has set its policy once it has written.
        router.flush()
        XCTAssertEqual(Self.policies(of: "jb-journald", notIn: before), [Self.batch], "\(taskThreads())")
        XCTAssertEqual(Self.policies(of: "jb-sched-probe", notIn: before), [Self.other], "\(taskThreads())")
        XCTAssertEqual(sched_getscheduler(0), Self.other, "the thread that made the router is as it was")
    }

    /// A policy the process was given (here SCHED_IDLE, as `CPUSchedulingPolicy=idle` or
    /// `chrt -i` would give it, which threads inherit) is the administrator's: it stays.
    func testAPolicyTheProcessWasGivenStays() {
        let idle: Int32 = 5  // SCHED_IDLE
        let observed = ConditionLock<Result<Set<Int32>, SystemError>?>(nil)
        let thread = Thread {
            var param = sched_param()
            let set = pthread_setschedparam(pthread_self(), idle, &param)
            guard set == 0 else {
                observed.withLock { $0 = .failure(SystemError(call: "pthread_setschedparam", errno: set)) }
                return
            }
            let before = Set(taskThreads().map(\.id))
            let router = Router(
                routes: [
                    SinkRoute(
                        JournaldSink(attributeObjectPID: false, backlogCapacity: 10) { _, _ in 0 }, minimumLevel: .trace
                    )
                ],
                queueCapacity: 16, budget: nil)
            router.route([LogRecord(level: .info, message: "one")])
            router.flush()
            observed.withLock { $0 = .success(Self.policies(of: "jb-journald", notIn: before)) }
            router.close()
        }
        thread.start()
        XCTAssertTrue(eventually { observed.withLock { $0 } != nil })
        switch observed.withLock({ $0 }) {
        case .success(let policies):
            XCTAssertEqual(policies, [idle], "the queue's thread inherited SCHED_IDLE, then kept it")
        case .failure(let error): XCTFail("could not put the thread under SCHED_IDLE: \(error)")
        case nil: XCTFail("the thread never reported")
        }
    }

    func testDirectModeLeavesTheCallersThreadAsItWas() throws {
        try XCTSkipUnless(sched_getscheduler(0) == Self.other, "the test runner itself is not under SCHED_OTHER")
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
