@testable import JournalBridgeCollector
import XCTest

final class SessionTableTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    func testTheSameProcessFindsItsSessionAnotherProcessOrUserDoesNot() {
        var table = SessionTable()
        let owner = table.open(.init(uid: 1000, pid: 42, id: 7), now: second)
        XCTAssertTrue(table.open(.init(uid: 1000, pid: 42, id: 7), now: second) === owner)
        XCTAssertFalse(table.open(.init(uid: 1000, pid: 43, id: 7), now: second) === owner)
        XCTAssertFalse(table.open(.init(uid: 65534, pid: 42, id: 7), now: second) === owner)
        XCTAssertEqual(table.count, 3)
    }

    func testTheTableIsBoundedForgettingTheLongestIdleAndKeepingSessionsInUse() {
        var table = SessionTable()
        let start = 1000 * second
        let live = table.open(.init(uid: 0, pid: 1, id: 1), now: start)
        for i in 2...UInt64(SessionTable.capacity) {
            let key = SessionTable.Key(uid: 0, pid: 2, id: i)
            _ = table.open(key, now: start)
            table.release(key, now: start + i)  // session i went idle at start + i ns
        }
        XCTAssertEqual(table.count, SessionTable.capacity)
        _ = table.open(.init(uid: 0, pid: 3, id: 1), now: start + second)
        XCTAssertEqual(table.count, SessionTable.capacity - SessionTable.capacity / 4 + 1)
        XCTAssertTrue(
            table.open(.init(uid: 0, pid: 1, id: 1), now: start + second) === live,
            "a session in use is never forgotten")
        let newest = SessionTable.Key(uid: 0, pid: 2, id: UInt64(SessionTable.capacity))
        let count = table.count
        _ = table.open(newest, now: start + second)
        XCTAssertEqual(table.count, count, "the most recently idle one is kept")
        _ = table.open(.init(uid: 0, pid: 2, id: 2), now: start + second)
        XCTAssertEqual(table.count, count + 1, "the longest idle one was forgotten")
    }

    func testSessionsIdleForLongAreForgotten() {
        var table = SessionTable()
        let start = 1000 * second
        let key = SessionTable.Key(uid: 0, pid: 9, id: 9)
        let first = table.open(key, now: start)
        table.release(key, now: start)
        _ = table.open(.init(uid: 0, pid: 10, id: 10), now: start + SessionTable.idleLimit + SessionTable.sweepInterval)
        XCTAssertEqual(table.count, 1)
        XCTAssertFalse(table.open(key, now: start + SessionTable.idleLimit + SessionTable.sweepInterval) === first)
    }
}
