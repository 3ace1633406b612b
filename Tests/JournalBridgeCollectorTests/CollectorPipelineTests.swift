import Foundation
import JournalBridge
@testable import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

/// The collector as inputs → router → routes: an input plugged into the seat, the route's
/// queue policy applied in one place, and the thread-owner rule (`OwnedThread`).
final class CollectorPipelineTests: XCTestCase {
    /// What happened, in order, across the input and the sink.
    private final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [String] = []
        func note(_ event: String) { lock.withLock { events.append(event) } }
        var all: [String] { lock.withLock { events } }
    }

    private final class LoggingSink: LogSink, @unchecked Sendable {
        let name = "logging"
        let log: Log
        private let gate = ConditionLock((open: true, written: [String]()))
        init(_ log: Log, open: Bool = true) {
            self.log = log
            gate.withLock { $0.open = open }
        }
        var failedCount: Int { 0 }
        func write(_ records: [LogRecord]) {
            gate.wait(until: { $0.open }) { state, _ in state.written += records.map(\.message) }
        }
        func close() { log.note("sink closed") }
        func open() {
            gate.withLock { state in
                state.open = true
                gate.broadcast()
            }
        }
        var written: [String] { gate.withLock { $0.written } }
    }

    /// An input with no descriptors: the test delivers through the context it was given.
    private final class FakeInput: Input, @unchecked Sendable {
        let name = "fake"
        let log: Log
        private(set) var context: InputContext?
        init(_ log: Log) { self.log = log }
        func start(_ context: InputContext) throws(SystemError) {
            self.context = context
            log.note("input started")
        }
        func stopReading() { log.note("input stopped reading") }
        func close() { log.note("input closed") }
        var connectionCount: Int { 0 }
    }

    func testAnInputInTheSeatDeliversThroughTheRoutesAndIsStoppedBeforeTheSinksClose() throws {
        let log = Log()
        let sink = LoggingSink(log)
        let input = FakeInput(log)
        let collector = Collector(
            configuration: CollectorConfiguration(socketPath: "/nonexistent/unused.sock"), inputs: [input],
            routes: [SinkRoute(sink, minimumLevel: .info)]
        )
        try collector.start()
        let context = try XCTUnwrap(input.context)
        let stored = expectation(description: "stored")
        let origin = Origin(pid: 4242, uid: 7, gid: 7, identifier: "fake")
        context.deliver([
            LogRecord(level: .info, message: "one", origin: origin),
            LogRecord(level: .debug, message: "below", origin: origin),
        ]) {
            log.note("stored")
            stored.fulfill()
        }
        wait(for: [stored], timeout: 10)
        collector.stop()
        XCTAssertEqual(sink.written, ["one"], "the route's level applies")
        XCTAssertEqual(log.all, ["input started", "stored", "input stopped reading", "input closed", "sink closed"])
        collector.stop()
        XCTAssertEqual(log.all.count, 5, "a second stop does nothing")
    }

    func testTheRoutesOverflowPolicyAndCapacityAreWhatItsQueueDoes() throws {
        let sink = LoggingSink(Log(), open: false)
        let collector = Collector(
            configuration: CollectorConfiguration(socketPath: "/nonexistent/unused.sock"), inputs: [],
            routes: [SinkRoute(sink, minimumLevel: .trace, overflow: .drop, capacity: 2)]
        )
        try collector.start()
        // The sink is stuck: the first batch is taken by its thread, two more fill the queue, the rest are dropped.
        collector.router.route([LogRecord(level: .info, message: "taken")])
        // (Whether its thread took it yet or not, it counts against the queue until written.)
        for index in 0..<10 { collector.router.route([LogRecord(level: .info, message: "m\(index)")]) }
        let statistics = collector.router.statistics.perSink[0]
        XCTAssertGreaterThanOrEqual(statistics.failed, 7, "dropped for this sink, counted")
        XCTAssertEqual(statistics.lastFailure, "queue full (2 records)")
        sink.open()
        collector.stop()
        XCTAssertEqual(sink.written.count + statistics.failed, 11, "every record written or counted")
    }

    func testACollectorReleasedWithoutStopStopsItsThreadsClosesItsSinksAndRemovesItsSocket() throws {
        let directory = try TemporaryDirectory()
        let log = Log()
        let socket = directory.file("c.sock")
        do {
            let collector = Collector(
                configuration: CollectorConfiguration(socketPath: socket),
                routes: [SinkRoute(LoggingSink(log), minimumLevel: .trace)])
            try collector.start()
            XCTAssertTrue(FileManager.default.fileExists(atPath: socket))
        }
        XCTAssertEqual(
            log.all, ["sink closed"], "deinit stopped it: the sink's queue thread was joined and the sink closed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket))
    }

    func testARouterReleasedWithoutCloseJoinsItsQueueThreadsAfterWritingWhatTheyHeld() throws {
        let log = Log()
        let sink = LoggingSink(log)
        do {
            let router = Router(routes: [SinkRoute(sink, minimumLevel: .trace)], queueCapacity: 16, budget: nil)
            router.route([LogRecord(level: .info, message: "held")])
        }
        XCTAssertEqual(sink.written, ["held"])
        XCTAssertEqual(log.all, ["sink closed"])
    }

    func testTheSocketIsOwnerAndGroupOnlyUnlessWidened() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("c.sock")
        let collector = Collector(configuration: CollectorConfiguration(socketPath: socket), routes: [])
        try collector.start()
        defer { collector.stop() }
        var info = stat()
        XCTAssertEqual(lstat(socket, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o660)
    }
}

extension CollectorPipelineTests {
    func testAStoppedCollectorRefusesToStartAgainAndAStartedOneStartsOnce() throws {
        let directory = try TemporaryDirectory()
        let collector = Collector(
            configuration: CollectorConfiguration(socketPath: directory.file("c.sock")), routes: [])
        try collector.start()
        try collector.start()
        XCTAssertTrue(collector.isRunning)
        collector.stop()
        XCTAssertFalse(collector.isRunning)
        XCTAssertThrowsError(try collector.start()) { XCTAssertEqual(($0 as? SystemError)?.errno, EINVAL) }
    }
}

extension CollectorPipelineTests {
    func testEveryThreadOfACollectorIsGoneWhenStopReturns() throws {
        let directory = try TemporaryDirectory()
        let collector = Collector(
            configuration: CollectorConfiguration(socketPath: directory.file("c.sock")),
            routes: [SinkRoute(LoggingSink(Log()), minimumLevel: .trace)]
        )
        try collector.start()
        // (Each thread names itself as it starts.)
        XCTAssertTrue(
            eventually { threadNames().contains("jb-collector") && threadNames().contains("jb-logging") },
            "\(threadNames())")
        collector.stop()
        XCTAssertFalse(threadNames().contains { $0 == "jb-collector" || $0 == "jb-logging" }, "\(threadNames())")
    }
}

extension CollectorPipelineTests {
    /// An input with a thread of its own, as the syslog inputs will have: it delivers `count`
    /// records one at a time, counting those `deliver` took.
    private final class CountingInput: Input, @unchecked Sendable {
        let name = "counting"
        let count: Int
        let delivered = ConditionLock(0)
        private let thread = OwnedThread()
        init(count: Int) { self.count = count }
        func start(_ context: InputContext) throws(SystemError) {
            let (count, delivered) = (self.count, self.delivered)
            thread.start(name: "jb-counting") {
                for index in 0..<count {
                    context.deliver([
                        LogRecord(
                            level: .info, message: "r\(index)", origin: Origin(pid: 1, uid: 0, gid: 0, identifier: "k"))
                    ])
                    delivered.withLock { $0 += 1 }
                }
            }
        }
        func stopReading() { thread.join() }
        func close() {}
        var connectionCount: Int { 0 }
    }

    func testAFullBlockQueueStopsAnInputsThreadUntilTheSinkTakesMore() throws {
        let sink = LoggingSink(Log(), open: false)
        let input = CountingInput(count: 100)
        let collector = Collector(
            configuration: CollectorConfiguration(socketPath: "/nonexistent/unused.sock"), inputs: [input],
            routes: [SinkRoute(sink, minimumLevel: .trace, overflow: .block, capacity: 2)]
        )
        try collector.start()
        // One record in the sink's hands, one queued (both count until written): the third waits, and the input with it.
        XCTAssertTrue(eventually { input.delivered.withLock { $0 } == 2 })
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertEqual(input.delivered.withLock { $0 }, 2, "the input waits while the queue is full")
        sink.open()
        XCTAssertTrue(eventually { input.delivered.withLock { $0 } == 100 })
        collector.stop()
        XCTAssertEqual(sink.written.count, 100, "nothing lost")
    }
}
