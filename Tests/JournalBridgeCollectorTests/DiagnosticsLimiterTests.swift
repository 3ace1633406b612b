@testable import JournalBridgeCollector
import XCTest

final class DiagnosticsLimiterTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    private func count(_ summaries: [DiagnosticsLimiter.Summary]) -> Int {
        summaries.map { Int($0.metadata.first { $0.key == "violations" }!.value)! }.reduce(0, +)
    }

    func testFirstViolationOfAPeerInFullTheRestSummarisedAndEveryOneCounted() {
        var limiter = DiagnosticsLimiter(intervalSeconds: 10)
        let start: UInt64 = 1000 * second
        var full = 0
        var total = 0
        func note(_ pid: Int32, _ uid: UInt32, _ reason: String = "zero-length frame") {
            total += 1
            if limiter.admit(.init(pid: pid, uid: uid), reason: reason, now: start + UInt64(total)) { full += 1 }
        }
        for _ in 0..<100 { note(7, 1000) }
        XCTAssertEqual(full, 1, "one peer: the first in full")
        // A forking attacker: 40 pids of uid 2000, then 30 further uids.
        for pid in 100..<140 { note(Int32(pid), 2000) }
        for uid in 3000..<3030 { note(1, UInt32(uid), "frame too large") }
        XCTAssertEqual(full, DiagnosticsLimiter.maxPeers, "at most maxPeers peers reported in full per interval")
        XCTAssertEqual(limiter.deadline, start + 1 + 10 * second)

        XCTAssertTrue(limiter.expire(now: start + 9 * second).isEmpty, "nothing before the interval ends")
        let summaries = limiter.expire(now: start + 10 * second + 1)
        XCTAssertEqual(full + count(summaries), total, "every violation counted once")
        XCTAssertTrue(
            summaries.contains {
                $0.message.hasPrefix("99 more violations from pid 7 uid 1000 in the last 10 s; last: zero-length frame")
            }, "\(summaries.map(\.message))")
        XCTAssertTrue(summaries.contains { $0.message.hasPrefix("25 violations from further processes of uid 2000") })
        XCTAssertTrue(
            summaries.contains {
                $0.message.hasPrefix("15 violations from processes of further uids")
                    && $0.message.hasSuffix("frame too large")
            })
        XCTAssertLessThanOrEqual(summaries.count, 2 * DiagnosticsLimiter.maxPeers + DiagnosticsLimiter.maxUIDs + 1)
        XCTAssertNil(limiter.deadline)

        // A new interval: the peer is reported in full again.
        XCTAssertTrue(limiter.admit(.init(pid: 7, uid: 1000), reason: "again", now: start + 20 * second))
        XCTAssertTrue(
            limiter.expire(now: start + 20 * second, force: true).isEmpty, "a single violation needs no summary")
    }

    func testIntervalZeroReportsEverything() {
        var limiter = DiagnosticsLimiter(intervalSeconds: 0)
        for i in 0..<100 { XCTAssertTrue(limiter.admit(.init(pid: 1, uid: 1), reason: "x", now: UInt64(i))) }
        XCTAssertNil(limiter.deadline)
    }
}
