#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Logging
import Synchronization

/// A sink and the lowest level it takes.
public struct SinkRoute: Sendable {
    /// Where the records go.
    public var sink: any LogSink
    /// The lowest level the sink takes.
    public var minimumLevel: Logger.Level

    /// `sink` takes every record at `minimumLevel` or above.
    public init(_ sink: any LogSink, minimumLevel: Logger.Level) {
        self.sink = sink
        self.minimumLevel = minimumLevel
    }
}

/// Hands each record to every sink whose threshold admits it, and counts
/// records per level and per sink for summaries. When a sink fails to write records,
/// says so through the other sinks (`SinkFailureWatch`).
public final class Router: Sendable {
    /// The routes, in the order records are handed to them.
    public let routes: [SinkRoute]
    private let counts: ConditionLock<(perLevel: [Int], perRoute: [Int])>
    private let watches: [SinkFailureWatch]

    /// A router over `routes`.
    public init(routes: [SinkRoute]) {
        self.routes = routes
        self.counts = ConditionLock(
            (Array(repeating: 0, count: Logger.Level.allCases.count), Array(repeating: 0, count: routes.count)))
        self.watches = routes.map { _ in SinkFailureWatch() }
        for (index, route) in routes.enumerated() {
            (route.sink as? SinkQueue)?.setAfterWrite { [weak self] in self?.reportFailures(of: index) }
        }
    }

    /// Routes the records; `onStored` runs once every sink has written its share
    /// (at once for direct sinks, from the last sink's thread for queued ones).
    package func route(_ records: [LogRecord], onStored: (@Sendable () -> Void)? = nil) {
        var levels = [Int](repeating: 0, count: Logger.Level.allCases.count)
        for record in records { levels[Int(record.level.ordinal)] += 1 }
        var admittedCounts = [Int](repeating: 0, count: routes.count)
        // One count for this call itself, so the ticket cannot fire before every sink has its share.
        let ticket = onStored.map { StoreTicket(count: routes.count + 1, onStored: $0) }
        for (index, route) in routes.enumerated() {
            let admitted = Self.admitted(records, minimumLevel: route.minimumLevel)
            admittedCounts[index] = admitted.count
            if admitted.isEmpty {
                ticket?.done()
            } else if let queue = route.sink as? SinkQueue {
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

    /// The records at or above `minimumLevel`; the same array (no copy) when all are.
    static func admitted(_ records: [LogRecord], minimumLevel: Logger.Level) -> [LogRecord] {
        if records.allSatisfy({ $0.level >= minimumLevel }) { return records }
        return records.filter { $0.level >= minimumLevel }
    }

    /// Says, through the other sinks, what sink `index` failed to write since it was last said.
    private func reportFailures(of index: Int) {
        let route = routes[index]
        guard let report = watches[index].check(route.sink, now: MonotonicClock.now()) else { return }
        let record = LogRecord(
            level: .error, label: "journal-bridge.collector", message: report.message, metadata: report.metadata,
            origin: Origin(pid: getpid(), uid: getuid(), gid: getgid(), identifier: "journal-bridge")
        )
        let failingIsFile = Self.isFileSink(route.sink)
        var levels = [Int](repeating: 0, count: Logger.Level.allCases.count)
        var admitted = [Int](repeating: 0, count: routes.count)
        for (other, target) in routes.enumerated() where other != index && record.level >= target.minimumLevel {
            // A file's failure is not reported into the other file: they share a file system,
            // and a report that cannot be written there would only be a second failure.
            if failingIsFile && Self.isFileSink(target.sink) { continue }
            watches[other].willReceiveReport()
            if let queue = target.sink as? SinkQueue {
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

    private static func isFileSink(_ sink: any LogSink) -> Bool {
        ((sink as? SinkQueue)?.inner ?? sink) is RotatingFileSink
    }

    /// Pushes what every sink buffers to the kernel.
    public func flush() { for route in routes { route.sink.flush() } }
    /// Reopens every sink's files (after an external logrotate).
    public func reopen() { for route in routes { route.sink.reopen() } }
    /// Closes every sink.
    public func close() { for route in routes { route.sink.close() } }

    /// The counts so far.
    public var statistics: Statistics {
        let (perLevel, perRoute) = counts.withLock { $0 }
        return Statistics(
            perLevel: Dictionary(uniqueKeysWithValues: Logger.Level.allCases.map { ($0, perLevel[Int($0.ordinal)]) }),
            perSink: routes.enumerated().map { index, route in
                Statistics.SinkCount(
                    name: route.sink.name, minimumLevel: route.minimumLevel, routed: perRoute[index],
                    failed: route.sink.failedCount,
                    packed: route.sink.packedCount, lastFailure: route.sink.lastFailure
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
