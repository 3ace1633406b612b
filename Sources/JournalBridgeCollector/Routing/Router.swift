#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Logging
import Synchronization

/// A sink, the lowest level it takes, and what its queue does when full. In a collector
/// every route's sink sits behind exactly one queue (`SinkQueue`) with this policy; in
/// direct mode (`Router.init(routes:)`) the sink is written on the caller's thread and the
/// policy does not apply.
public struct SinkRoute: Sendable {
    /// Where the records go.
    public var sink: any LogSink
    /// The lowest level the sink takes.
    public var minimumLevel: Logger.Level
    /// What a full queue does with the records routed to this sink.
    public var overflow: Overflow
    /// Records the queue holds before `overflow` applies; nil: the collector's
    /// `CollectorConfiguration.sinkQueueCapacity`.
    public var capacity: Int?

    /// What a full queue does to the records routed to it.
    public enum Overflow: Sendable, Equatable {
        /// Wait for room: lossless; the wait reaches the workers as backpressure.
        case block
        /// Drop them for this sink only (counted, reported once per episode); the other sinks still get them.
        case drop
    }

    /// `sink` takes every record at `minimumLevel` or above; in a collector its queue holds `capacity` records (the collector's `sinkQueueCapacity` when nil) and `overflow` says what a full one does.
    public init(_ sink: any LogSink, minimumLevel: Logger.Level, overflow: Overflow = .block, capacity: Int? = nil) {
        self.sink = sink
        self.minimumLevel = minimumLevel
        self.overflow = overflow
        self.capacity = capacity
    }
}

/// Hands each record to every sink whose threshold admits it, and counts
/// records per level and per sink for summaries. When a sink fails to write records,
/// says so through the other sinks (`SinkFailureWatch`).
public final class Router: Sendable {
    /// The routes, in the order records are handed to them.
    public let routes: [SinkRoute]
    /// Each route's queue (a collector's router), or nil (direct mode: written on the caller's thread).
    private let queues: [SinkQueue?]
    private let counts: ConditionLock<(perLevel: [Int], perRoute: [Int])>
    private let watches: [SinkFailureWatch]
    /// Each route's threshold now: `routes[i].minimumLevel` at first, changed by a reload (`setMinimumLevel`).
    private let thresholds: ConditionLock<[Logger.Level]>

    /// Direct mode: each record is written to the sinks on the caller's thread.
    public convenience init(routes: [SinkRoute]) {
        self.init(routes: routes, queues: routes.map { _ in nil })
    }

    /// A collector's router: each route's sink behind one `SinkQueue` of its own, with the
    /// route's overflow policy and capacity (`queueCapacity` where the route names none),
    /// counted against `budget`'s record share. The one place where queues are made.
    package convenience init(routes: [SinkRoute], queueCapacity: Int, budget: MemoryBudget?) {
        let queues = routes.map { route in
            SinkQueue(route.sink, capacity: route.capacity ?? queueCapacity, overflow: route.overflow, budget: budget)
        }
        self.init(routes: routes, queues: queues)
    }

    private init(routes: [SinkRoute], queues: [SinkQueue?]) {
        self.routes = routes
        self.queues = queues
        self.counts = ConditionLock(
            (Array(repeating: 0, count: Logger.Level.allCases.count), Array(repeating: 0, count: routes.count)))
        self.watches = routes.map { _ in SinkFailureWatch() }
        self.thresholds = ConditionLock(routes.map(\.minimumLevel))
        for (index, queue) in queues.enumerated() {
            queue?.setAfterWrite { [weak self] in self?.reportFailures(of: index) }
        }
    }

    /// What route `index` failed to store: its sink's failures and what its queue dropped.
    private func failedCount(of index: Int) -> Int { queues[index]?.failedCount ?? routes[index].sink.failedCount }

    private func lastFailure(of index: Int) -> String? { queues[index]?.lastFailure ?? routes[index].sink.lastFailure }

    /// Routes the records; `onStored` runs once every sink has written its share
    /// (at once for direct sinks, from the last sink's thread for queued ones).
    package func route(_ records: [LogRecord], onStored: (@Sendable () -> Void)? = nil) {
        // By index, here and below: iterating an array of records copies each one (a retain and
        // a release of every string and array in it), a cost per record on the input's thread.
        var levels = [Int](repeating: 0, count: Logger.Level.allCases.count)
        for index in records.indices { levels[Int(records[index].level.ordinal)] += 1 }
        var admittedCounts = [Int](repeating: 0, count: routes.count)
        // One count for this call itself, so the ticket cannot fire before every sink has its share.
        let ticket = onStored.map { StoreTicket(count: routes.count + 1, onStored: $0) }
        // When no sink takes any of them (all below every threshold, or none left after the rate
        // limit), an empty item still goes through each queue: the acknowledgement must wait for the
        // batches routed before it, or it would claim records still queued.
        let thresholds = self.thresholds.withLock { $0 }
        let noneAdmitted = ticket != nil && thresholds.allSatisfy { Self.count(levels, atOrAbove: $0) == 0 }
        for (index, route) in routes.enumerated() {
            let admitted = Self.admitted(
                records, minimumLevel: thresholds[index], count: Self.count(levels, atOrAbove: thresholds[index]))
            admittedCounts[index] = admitted.count
            if noneAdmitted, let queue = queues[index] {
                queue.enqueue([], ticket: ticket, bypassingCapacity: true)
            } else if admitted.isEmpty {
                ticket?.done()
            } else if let queue = queues[index] {
                queue.enqueue(admitted, ticket: ticket)
            } else {
                route.sink.write(admitted)
                ticket?.done()
                reportFailures(of: index)
            }
        }
        ticket?.done()
        counts.withLock { counts in
            for i in levels.indices { counts.perLevel[i] += levels[i] }
            for i in admittedCounts.indices { counts.perRoute[i] += admittedCounts[i] }
        }
    }

    /// The records at or above `minimumLevel`, `count` of them; the same array (no copy) when all are.
    static func admitted(_ records: [LogRecord], minimumLevel: Logger.Level, count: Int) -> [LogRecord] {
        if count == records.count { return records }
        var admitted: [LogRecord] = []
        admitted.reserveCapacity(count)
        for index in records.indices where records[index].level >= minimumLevel { admitted.append(records[index]) }
        return admitted
    }

    /// How many records of a batch whose per-level counts are `levels` are at or above `level`.
    static func count(_ levels: [Int], atOrAbove level: Logger.Level) -> Int {
        levels[Int(level.ordinal)...].reduce(0, +)
    }

    /// Says, through the other sinks, what sink `index` failed to write since it was last said.
    private func reportFailures(of index: Int) {
        let route = routes[index]
        let now = MonotonicClock.now()
        let failed = failedCount(of: index)
        let report =
            watches[index].check(name: route.sink.name, failed: failed, lastFailure: lastFailure(of: index), now: now)
            ?? queues[index].flatMap {
                watches[index].checkRecovery(
                    name: route.sink.name, failed: failed, written: $0.tally.writtenCount, now: now)
            }
        guard let report else { return }
        let record = CollectorIdentity.record(
            report.level, report.message,
            metadata: [MetadataField(HealthEvent.messageIDKey, report.event.id)] + report.metadata
        )
        let failingIsFile = route.sink is RotatingFileSink
        var levels = [Int](repeating: 0, count: Logger.Level.allCases.count)
        var admitted = [Int](repeating: 0, count: routes.count)
        let thresholds = self.thresholds.withLock { $0 }
        for (other, target) in routes.enumerated() where other != index && record.level >= thresholds[other] {
            // A file's failure is not reported into the other file: they share a file system,
            // and a report that cannot be written there would only be a second failure.
            if failingIsFile && target.sink is RotatingFileSink { continue }
            watches[other].willReceiveReport()
            if let queue = queues[other] {
                queue.enqueue([record], ticket: nil, bypassingCapacity: true)
            } else {
                target.sink.write([record])
            }
            admitted[other] += 1
            levels[Int(record.level.ordinal)] = 1
        }
        counts.withLock { counts in
            for i in levels.indices { counts.perLevel[i] += levels[i] }
            for i in admitted.indices { counts.perRoute[i] += admitted[i] }
        }
    }

    /// Changes the threshold of the sink named `name` from the next record routed (a reload);
    /// false when no sink has that name.
    @discardableResult
    package func setMinimumLevel(_ level: Logger.Level, forSinkNamed name: String) -> Bool {
        guard let index = routes.firstIndex(where: { $0.sink.name == name }) else { return false }
        thresholds.withLock { $0[index] = level }
        return true
    }

    /// Changes what the queue of the sink named `name` does when full (a reload).
    package func setOverflow(_ overflow: SinkRoute.Overflow, forSinkNamed name: String) {
        for (route, queue) in zip(routes, queues) where route.sink.name == name { queue?.setOverflow(overflow) }
    }

    /// Each queued sink's counters (a collector's router; none in direct mode).
    package var tallies: [SinkTally] { queues.compactMap { $0?.tally } }

    /// Waits until every queue has written what it holds, and flushes every sink.
    public func flush() {
        for (route, queue) in zip(routes, queues) { if let queue { queue.flush() } else { route.sink.flush() } }
    }

    /// Reopens every sink's files (after an external logrotate).
    public func reopen() { for route in routes { route.sink.reopen() } }

    /// Drains every queue, stops and joins its thread, and closes every sink. Again: nothing more.
    public func close() {
        for (route, queue) in zip(routes, queues) { if let queue { queue.close() } else { route.sink.close() } }
    }

    /// The counts so far.
    public var statistics: Statistics {
        let (perLevel, perRoute) = counts.withLock { $0 }
        let thresholds = self.thresholds.withLock { $0 }
        return Statistics(
            perLevel: Dictionary(uniqueKeysWithValues: Logger.Level.allCases.map { ($0, perLevel[Int($0.ordinal)]) }),
            perSink: routes.enumerated().map { index, route in
                Statistics.SinkCount(
                    name: route.sink.name, minimumLevel: thresholds[index], routed: perRoute[index],
                    failed: failedCount(of: index),
                    packed: route.sink.packedCount, lastFailure: lastFailure(of: index)
                )
            }
        )
    }

    /// Records routed so far, per level and per sink.
    public struct Statistics: Sendable {
        /// One sink's counts.
        public struct SinkCount: Sendable {
            /// The sink's name (`journald`, `error-file`, ...).
            public var name: String
            /// The lowest level the sink takes.
            public var minimumLevel: Logger.Level
            /// Records handed to the sink.
            public var routed: Int
            /// Routed records this sink could not write: acknowledged all the same, counted here and
            /// reported (stderr, and a record through the other sinks).
            public var failed: Int
            /// Records stored in a changed form to fit (journald: metadata packed into `JB_METADATA`).
            public var packed: Int = 0
            /// Why the last failure happened, when the sink says.
            public var lastFailure: String? = nil
        }

        /// Records routed, per level.
        public var perLevel: [Logger.Level: Int]
        /// Counts per sink, in route order.
        public var perSink: [SinkCount]
        /// Records routed, all levels.
        public var total: Int { perLevel.values.reduce(0, +) }
    }
}
