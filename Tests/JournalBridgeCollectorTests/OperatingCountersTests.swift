import Foundation
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
@testable import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import Synchronization
import XCTest

/// A sink that keeps what it stores and fails every third call ("disk full"), optionally slowly.
private final class KeepingSink: LogSink, @unchecked Sendable {
    let name: String
    private let lock = NSLock()
    private var calls = 0
    private var failed = 0
    private(set) var stored: [LogRecord] = []
    let failing: Bool
    /// Per record written: a sink that keeps up with small batches but not with the rate.
    /// (Per call, a slow machine's small batches, as under ThreadSanitizer, were each written
    /// in time and the queue never overflowed: the test's overload did not happen.)
    let delay: useconds_t

    init(name: String, failing: Bool, delay: useconds_t = 0) {
        self.name = name
        self.failing = failing
        self.delay = delay
    }

    func write(_ records: [LogRecord]) {
        if delay > 0 { usleep(delay * useconds_t(records.count)) }
        lock.lock()
        defer { lock.unlock() }
        calls += 1
        if failing && calls % 3 == 0 { failed += records.count } else { stored += records }
    }

    var failedCount: Int { lock.lock(); defer { lock.unlock() }; return failed }
    var storedRecords: [LogRecord] { lock.lock(); defer { lock.unlock() }; return stored }
}

final class OperatingCountersTests: XCTestCase {
    /// Overload (a small drop queue behind a slow sink), journald away (a refusing sendv with a small
    /// backlog), a failing sink (disk full) and a rate-limited flooder beside a modest source: every
    /// sink's counters add up to the record and match what it holds; every interval that suppressed
    /// anything produced one summary whose N is the counter; the modest source lost nothing.
    func testCountersAddUpToTheRecordUnderFaultsAndTheRateLimitHoldsTheFlooder() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("c.sock")
        let failing = KeepingSink(name: "failing", failing: true)
        let slow = KeepingSink(name: "slow", failing: false, delay: 2000)
        let complete = KeepingSink(name: "complete", failing: false)
        let journald = JournaldSink(attributeObjectPID: false, backlogCapacity: 100, sendv: { _, _ in -ECONNREFUSED })
        var configuration = CollectorConfiguration(socketPath: socket)
        configuration.rateLimit = RateLimit(interval: 1, burst: 500, exemptLevel: .warning, key: .identifier)
        let collector = Collector(
            configuration: configuration,
            routes: [
                SinkRoute(failing, minimumLevel: .trace),
                SinkRoute(slow, minimumLevel: .trace, overflow: .drop, capacity: 64),
                SinkRoute(journald, minimumLevel: .trace),
                SinkRoute(complete, minimumLevel: .trace),
            ]
        )
        try collector.start()

        func shipper(_ identifier: String) -> RecordShipper {
            RecordShipper(
                configuration: ShipperConfiguration(
                    socketPath: socket, identifier: identifier, capacity: 4096, overflow: .block, flushAtExit: nil))
        }
        let flooder = shipper("flooder-\(getpid())")
        let modest = shipper("modest-\(getpid())")
        let stop = Date().addingTimeInterval(2.5)
        let flooding = Thread {
            var n = 0
            while Date() < stop {
                flooder.enqueue(LogRecord(level: .info, message: "flood \(n)"))
                n += 1
            }
        }
        flooding.start()
        // A reader taking snapshots all along: the identity holds in every one.
        let readings = Mutex((taken: 0, broken: [String]()))
        let reader = Thread {
            while Date() < stop {
                for sink in collector.snapshot.sinks
                where sink.routed != sink.written + sink.droppedTotal + sink.inFlight {
                    readings.withLock { $0.broken.append("\(sink)") }
                }
                readings.withLock { $0.taken += 1 }
                usleep(1000)
            }
        }
        reader.start()
        var modestSent = 0
        while Date() < stop {
            modest.enqueue(LogRecord(level: modestSent % 2 == 0 ? .info : .warning, message: "modest \(modestSent)"))
            modestSent += 1
            usleep(10_000)  // 100 records a second
        }
        while !flooding.isFinished || !reader.isFinished { usleep(10_000) }
        XCTAssertGreaterThan(readings.withLock { $0.taken }, 10)
        XCTAssertEqual(readings.withLock { $0.broken }, [], "routed = written + dropped + in flight in every reading")
        XCTAssertTrue(flooder.flush(timeout: 30))
        XCTAssertTrue(modest.flush(timeout: 30))
        flooder.shutdown()
        modest.shutdown()

        // While running: the identity with the records in flight as a term.
        for sink in collector.snapshot.sinks {
            XCTAssertEqual(sink.routed, sink.written + sink.droppedTotal + sink.inFlight, sink.name)
        }
        let prometheusRunning = collector.snapshot
        XCTAssertFalse(prometheusRunning.prometheus.isEmpty)
        collector.stop()

        let snapshot = collector.snapshot
        let byName = Dictionary(uniqueKeysWithValues: snapshot.sinks.map { ($0.name, $0) })
        for sink in snapshot.sinks {
            XCTAssertEqual(sink.inFlight, 0, sink.name)
            XCTAssertEqual(sink.routed, sink.written + sink.droppedTotal, sink.name)
        }
        // What the sinks hold, record for record.
        XCTAssertEqual(byName["failing"]?.written, failing.storedRecords.count)
        XCTAssertEqual(byName["failing"]?.dropped[.sinkFailure], failing.failedCount)
        XCTAssertGreaterThan(failing.failedCount, 0)
        XCTAssertEqual(byName["slow"]?.written, slow.storedRecords.count)
        XCTAssertGreaterThan(byName["slow"]?.dropped[.queueFull] ?? 0, 0, "the slow sink's queue overflowed")
        XCTAssertEqual(byName["journald"]?.written, 0)
        XCTAssertGreaterThan(byName["journald"]?.dropped[.journaldBacklog] ?? 0, 0)
        // The router's own count agrees.
        for sink in collector.statistics.perSink { XCTAssertEqual(byName[sink.name]?.routed, sink.routed, sink.name) }

        // Inputs and sources: received = duplicates + rate_limited + routed.
        let bridge = try XCTUnwrap(snapshot.inputs.inputs["bridge"])
        XCTAssertEqual(bridge.received, bridge.duplicates + (bridge.dropped[.rateLimited] ?? 0) + bridge.routed)
        let sources = snapshot.inputs.sources
        XCTAssertEqual(sources.values.reduce(0) { $0 + $1.received }, bridge.received)
        let flood = try XCTUnwrap(sources.first { $0.key.identifier.hasPrefix("flooder-") }?.value)
        let calm = try XCTUnwrap(sources.first { $0.key.identifier.hasPrefix("modest-") }?.value)
        XCTAssertEqual(calm.routed, modestSent, "the modest source delivers 100 %")
        XCTAssertEqual(calm.dropped[.rateLimited] ?? 0, 0)
        let limited = try XCTUnwrap(flood.dropped[.rateLimited])
        XCTAssertGreaterThan(limited, 0)

        // One summary per interval that suppressed anything, N equal to the counter; the flooder
        // got exactly its burst in each of those intervals.
        XCTAssertEqual(byName["complete"]?.written, complete.storedRecords.count)
        XCTAssertEqual(byName["complete"]?.routed, complete.storedRecords.count)
        let summaries = complete.storedRecords.filter {
            $0.message.hasPrefix("suppressed ") && $0.message.contains("flooder-")
        }
        let suppressedSum = summaries.compactMap { r in
            r.metadata.first { $0.key == "suppressed" }.flatMap { Int($0.value) }
        }.reduce(0, +)
        XCTAssertEqual(suppressedSum, limited, "the summaries' N add up to the counter")
        XCTAssertGreaterThanOrEqual(summaries.count, 2)
        // Each interval that suppressed admitted exactly the burst; the flood's last records may
        // open one more interval that ends before the burst is reached (and suppresses nothing).
        let beyond = flood.routed - 500 * summaries.count
        XCTAssertTrue(
            (0..<500).contains(beyond),
            "the flooder is held to its burst in each interval: \(flood.routed) for \(summaries.count)")
        XCTAssertFalse(
            complete.storedRecords.contains { $0.message.hasPrefix("suppressed ") && $0.message.contains("modest-") })

        // JSON and Prometheus agree.
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(snapshot.json.utf8)) as? [String: Any])
        let sinks = try XCTUnwrap(json["sinks"] as? [String: [String: Any]])
        for sink in snapshot.sinks {
            let written = try XCTUnwrap(sinks[sink.name]?["written"] as? Int)
            XCTAssertTrue(
                snapshot.prometheus.contains("journal_bridge_sink_written_total{sink=\"\(sink.name)\"} \(written)\n"))
            let dropped = try XCTUnwrap(sinks[sink.name]?["dropped"] as? [String: Int])
            for (reason, count) in dropped {
                XCTAssertTrue(
                    snapshot.prometheus.contains(
                        "journal_bridge_sink_dropped_total{sink=\"\(sink.name)\",reason=\"\(reason)\"} \(count)\n"))
            }
        }
        XCTAssertNotNil(json["inputs"] as? [String: Any])
        XCTAssertEqual((json["sources"] as? [Any])?.count, sources.count)
    }

    /// The limiter's own rules: exempt levels pass, each window admits `burst`, one summary per
    /// window that suppressed anything with N equal to what it suppressed.
    /// A worker's "dropped N records" record counts N as worker_shed (at most 2^40 a record,
    /// `BridgeLoop.workerShed`); any client may send such records, so 2^23 of them (128 full
    /// batches) made the sum overflow and trapped the collector's I/O thread. The count
    /// saturates: the tally takes the claims as they come, in batches of 2^56 at most.
    func testClaimedShedCountsSaturateInsteadOfOverflowing() {
        let tally = InputTally()
        let source = SourceKey(uid: 1, unit: nil, identifier: "liar")
        for _ in 0..<130 {
            tally.batch(
                input: "bridge", source: source, received: 65_536, duplicates: 0, rateLimited: 0, routed: 65_536,
                workerShed: 65_536 << 40)
        }
        let counts = tally.snapshot.inputs["bridge"]
        XCTAssertEqual(counts?.dropped[.workerShed], Int.max)
        XCTAssertEqual(counts?.received, 130 * 65_536)
        XCTAssertEqual(tally.snapshot.sources[source]?.dropped[.workerShed], Int.max)
    }

    /// `status`'s table shows what clients named themselves escaped as the files are: an
    /// identifier with ESC, BEL and LF neither drives the terminal nor forges a row.
    func testTheTableEscapesWhatClientsNamedThemselves() {
        let tally = InputTally()
        let evil = SourceKey(uid: 7, unit: "a\u{1B}]0;unit\u{07}.service", identifier: "evil\u{1B}[2J\nFAKE LINE")
        tally.batch(input: "bridge", source: evil, received: 3, duplicates: 0, rateLimited: 0, routed: 3, workerShed: 0)
        // A network sender is its address, the sources past the bound "(other sources)": neither
        // is "uid 4294967295".
        tally.batch(
            input: "syslog-udp", source: SourceKey(uid: UInt32.max, unit: nil, identifier: "192.0.2.7"), received: 1,
            duplicates: 0, rateLimited: 0, routed: 1, workerShed: 0)
        tally.batch(
            input: "bridge", source: .other, received: 1, duplicates: 0, rateLimited: 0, routed: 1, workerShed: 0)
        // Every input's failures in the table's totals, not the bridge's alone.
        tally.failure(input: "bridge", reason: .parseFailure)
        tally.failure(input: "syslog-socket", reason: .parseFailure)
        let snapshot = CollectorSnapshot(
            sinks: [], inputs: tally.snapshot, levels: [:], connections: 1, unfinishedFrameBytes: 0,
            queuedRecordBytes: 0)
        let table = snapshot.table
        XCTAssertFalse(table.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{07}" }, table)
        XCTAssertFalse(table.split(separator: "\n").contains { $0.hasPrefix("FAKE LINE") }, table)
        XCTAssertTrue(table.contains("uid 7 a\\x1b]0;unit\\x07.servi"), table)
        XCTAssertEqual(table.split(separator: "\n", omittingEmptySubsequences: false).count, 9, table)
        XCTAssertTrue(table.contains("\npeer 192.0.2.7 "), table)
        XCTAssertTrue(table.contains("\n(other sources) "), table)
        XCTAssertFalse(table.contains("4294967295"), table)
        XCTAssertTrue(table.contains("parse failures 2, oversize 0, kernel drops 0"), table)
    }

    /// With `rate_limit_key = "identifier"`, a client that opens the table's 4,096 windows with
    /// names of its own then uses up only its uid's window: another user's new source is
    /// admitted its burst. They shared one window, and the other user's records were suppressed.
    func testChurningIdentifiersDoNotUseUpAnotherUsersShare() {
        let limiter = SourceRateLimiter(RateLimit(interval: 60, burst: 100, exemptLevel: nil, key: .identifier))
        let one = [LogRecord(level: .info, message: "m")]
        for index in 0..<SourceRateLimiter.maximumWindows {
            _ = limiter.admit(one, source: SourceKey(uid: 65534, unit: nil, identifier: "churn-\(index)"), now: 1)
        }
        let flood = (0..<200).map { LogRecord(level: .info, message: "flood \($0)") }
        let attacker = limiter.admit(flood, source: SourceKey(uid: 65534, unit: nil, identifier: "new"), now: 2)
        XCTAssertEqual(attacker.suppressed, 100, "its uid's window: the burst, then suppressed")
        let victim = (0..<50).map { LogRecord(level: .info, message: "victim \($0)") }
        let admitted = limiter.admit(victim, source: SourceKey(uid: 1000, unit: nil, identifier: "victim-app"), now: 3)
        XCTAssertEqual(admitted.admitted.count, 50)
        XCTAssertEqual(admitted.suppressed, 0)
        let summaries = limiter.expire(now: 61_000_000_000)
        XCTAssertEqual(summaries.map(\.message), ["suppressed 100 records from uid 65534 in the last 60 s"])
    }

    /// A network sender has no uid or unit: with the default key (unit, else uid) every one
    /// shared one allowance, and one host's flood suppressed every other host. Each address has
    /// its own now, whatever the key.
    func testEachNetworkSenderHasItsOwnAllowance() {
        for key in [RateLimit.Key.unit, .uid, .identifier] {
            let limiter = SourceRateLimiter(RateLimit(interval: 30, burst: 100, exemptLevel: nil, key: key))
            let flood = (0..<300).map { LogRecord(level: .info, message: "flood \($0)") }
            let flooder = SourceKey(uid: UInt32.max, unit: nil, identifier: "127.0.0.1")
            XCTAssertEqual(limiter.admit(flood, source: flooder, now: 1).suppressed, 200, "\(key)")
            let quiet = (0..<5).map { LogRecord(level: .info, message: "quiet \($0)") }
            let other = SourceKey(uid: UInt32.max, unit: nil, identifier: "127.0.0.2")
            XCTAssertEqual(limiter.admit(quiet, source: other, now: 2).admitted.count, 5, "\(key)")
            XCTAssertEqual(
                limiter.expire(now: 31_000_000_000).map(\.message),
                ["suppressed 200 records from peer 127.0.0.1 in the last 30 s"], "\(key)")
        }
    }

    func testRateLimiterWindowsAndSummaries() {
        let limiter = SourceRateLimiter(RateLimit(interval: 1, burst: 3, exemptLevel: .warning, key: .uid))
        let source = SourceKey(uid: 42, unit: nil, identifier: "x")
        let records = (0..<10).map { LogRecord(level: $0 == 9 ? .error : .info, message: "m\($0)") }
        let (admitted, suppressed) = limiter.admit(records, source: source, now: 1_000)
        XCTAssertEqual(admitted.count, 4)
        XCTAssertEqual(suppressed, 6)
        XCTAssertTrue(limiter.expire(now: 1_000 + 500_000_000).isEmpty)
        let summaries = limiter.expire(now: 1_000 + 1_000_000_000)
        XCTAssertEqual(summaries.count, 1)
        XCTAssertEqual(summaries.first?.suppressed, 6)
        XCTAssertEqual(summaries.first?.message, "suppressed 6 records from uid 42 in the last 1 s")
        XCTAssertNil(limiter.deadline)
        XCTAssertEqual(limiter.admit(records, source: source, now: 2_000_000_000).admitted.count, 4, "a new window")
    }

    /// A batch no sink takes (every record below every threshold, or all rate-limited) is
    /// acknowledged only after the batches routed before it are written: its ack covers them.
    func testABatchNoSinkTakesIsStoredOnlyAfterTheBatchesBeforeIt() {
        let gate = NSCondition()
        var open = false
        final class GatedSink: LogSink, @unchecked Sendable {
            let name = "gated"
            let wait: () -> Void
            init(wait: @escaping () -> Void) { self.wait = wait }
            func write(_ records: [LogRecord]) { wait() }
            var failedCount: Int { 0 }
        }
        let sink = GatedSink {
            gate.lock()
            while !open { gate.wait() }
            gate.unlock()
        }
        let router = Router(routes: [SinkRoute(sink, minimumLevel: .info)], queueCapacity: 16, budget: nil)
        let stored = Mutex<[String]>([])
        router.route([LogRecord(level: .info, message: "first")]) { stored.withLock { $0.append("first") } }
        router.route([LogRecord(level: .debug, message: "below")]) { stored.withLock { $0.append("below") } }
        usleep(100_000)
        XCTAssertEqual(stored.withLock { $0 }, [], "nothing is stored while the first batch waits")
        gate.lock()
        open = true
        gate.broadcast()
        gate.unlock()
        router.flush()
        XCTAssertEqual(stored.withLock { $0 }, ["first", "below"])
        router.close()
    }
}
