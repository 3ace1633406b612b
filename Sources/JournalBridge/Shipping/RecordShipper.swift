#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// One per process: takes records from `log` calls without blocking on I/O and
/// ships them to the collector from one background thread, in batches, keeping
/// every record until the collector acknowledges it (resent after a reconnect).
public final class RecordShipper: Sendable {
    /// Counters for tests, benchmarks and `flush` diagnostics.
    public struct Statistics: Sendable, Equatable {
        /// Records admitted to the queue.
        public var enqueued = 0
        /// Records shed because the shipper was full (reported by a record of their own).
        public var dropped = 0
        /// Records the collector refused even alone (a limit of that collector the shipper does
        /// not know): each dropped by itself, after the others before it were stored, and
        /// reported by a WARNING record of its own ("dropped 1 record: refused by the collector: ...").
        public var refused = 0
        /// The highest sequence number the collector acknowledged.
        public var acknowledged: UInt64 = 0
        /// Connections to the collector made after the first.
        public var reconnects = 0
        /// Records held now: queued, being sent, or sent and not yet acknowledged.
        public var held = 0
    }

    struct State {
        var queue: [QueuedRecord] = []
        /// Queued + unsent + unacknowledged: what counts against the capacity.
        var held = 0
        var nextSequence: UInt64 = 1
        var droppedSinceReport = 0
        var statistics = Statistics()
        /// The background thread sleeps until signalled (nothing logged for a while). While it
        /// is active it wakes by itself every millisecond, so `log` need not signal it:
        /// a futex wake per call would cost more than the rest of `log` together.
        var consumerIdle = false
        var waiters = 0
        var closing = false
        var finished = false
    }

    /// Where the shipper connects and what it does when full, each value within its bounds (`ShipperConfiguration`).
    public let configuration: ShipperConfiguration
    let session = UInt64.random(in: 1...UInt64.max)
    let lock = ConditionLock(State())
    private let lowPriorityLimit: Int
    /// A burst this large wakes the background thread at once instead of at its next tick.
    static let burstSignal = 4096

    /// A drop report is sent once the shipper holds less than this again (where shedding stops).
    var reportThreshold: Int { lowPriorityLimit }
    /// Follows the thread-owner rule (`OwnedThread`) with its one exception: the thread holds
    /// the shipper (see `ShipperConnection.shipper`), so `shutdown()` is what ends it.
    private let thread = OwnedThread()

    /// Starts the shipper's background thread; it connects (and reconnects) to the collector by itself. Create one per process.
    public init(configuration: ShipperConfiguration = ShipperConfiguration()) {
        self.configuration = configuration.clamped
        self.lowPriorityLimit = self.configuration.capacity * 3 / 4
        let connection = ShipperConnection(shipper: self)
        thread.start(name: "jb-shipper") { connection.run() }
        ExitFlush.register(self)
    }

    // MARK: the caller's side

    /// Hands a record over. Never does I/O; waits only as the overflow policy says.
    package func enqueue(_ record: LogRecord) {
        enqueue(QueuedRecord(record: record, base: [:], explicit: nil))
    }

    /// Hands a record over, waiting for room until `deadline` (monotonic nanoseconds) at most,
    /// whatever the overflow policy; false (the record counted as dropped) if it was not taken.
    /// For `journal-bridge send`, whose input is a pipe, not a log call: with the collector
    /// away, `.block` waited for ever once the shipper was full, past its `--timeout`.
    package func enqueue(_ record: LogRecord, waitingUntil deadline: UInt64) -> Bool {
        waitForRoom(QueuedRecord(record: record, base: [:], explicit: nil), until: deadline)
    }

    /// A record whose metadata is still swift-log's dictionaries: the shipper's thread
    /// flattens them, so the caller pays a retain, not an array, a sort and a walk of the table.
    func enqueue(_ record: LogRecord, handlerMetadata: Logger.Metadata, explicit: Logger.Metadata?) {
        enqueue(QueuedRecord(record: record, base: handlerMetadata, explicit: explicit))
    }

    private func enqueue(_ item: QueuedRecord) {
        var item = item
        let admitted: Bool? = lock.withLock { state in
            if state.closing { return false }
            let limit = limit(for: item.record.level)
            guard state.held < limit else { return nil }
            admit(&item, &state)
            return true
        }
        switch admitted {
        case true?: return
        case false?: countDrop()
        case nil: enqueueWhenFull(item)
        }
    }

    private func limit(for level: Logger.Level) -> Int {
        if case .shedLowPriority = configuration.overflow, level < .warning { return lowPriorityLimit }
        return configuration.capacity
    }

    @inline(__always)
    private func admit(_ item: inout QueuedRecord, _ state: inout State) {
        item.record.sequence = state.nextSequence
        state.nextSequence += 1
        state.held += 1
        state.statistics.enqueued += 1
        state.queue.append(item)
        if state.consumerIdle || state.queue.count == Self.burstSignal {
            state.consumerIdle = false
            lock.broadcast()
        }
    }

    private func enqueueWhenFull(_ item: QueuedRecord) {
        // The shipper's own thread logging (a metadata value's `description` is read there, and
        // may log): it is what frees room, so it never waits for room. It waited for ever under
        // `.block`, wedging every logger of the process, and a second per record otherwise.
        if thread.isCurrent { return countDrop() }
        let deadline: UInt64?
        switch configuration.overflow {
        case .dropNewest: return countDrop()
        case .shedLowPriority where item.record.level < .warning: return countDrop()
        case .shedLowPriority(let maxWait): deadline = MonotonicClock.deadline(after: maxWait)
        case .block: deadline = nil
        }
        _ = waitForRoom(item, until: deadline)
    }

    /// Admits `item` once the shipper has room, waiting until `deadline` (nil: for ever) at
    /// most; false (counted as dropped) if it did not get in.
    private func waitForRoom(_ item: QueuedRecord, until deadline: UInt64?) -> Bool {
        var item = item
        lock.withLock { $0.waiters += 1 }
        let admitted = lock.wait(until: { $0.held < self.configuration.capacity || $0.closing }, deadline: deadline) {
            state, ready in
            state.waiters -= 1
            guard ready, !state.closing else { return false }
            admit(&item, &state)
            return true
        }
        if !admitted { countDrop() }
        return admitted
    }

    private func countDrop() {
        lock.withLock { state in
            state.droppedSinceReport += 1
            state.statistics.dropped += 1
            if state.consumerIdle {
                state.consumerIdle = false
                lock.broadcast()
            }
        }
    }

    /// Waits until every record handed over so far is acknowledged by the collector.
    /// Returns false when `timeout` (seconds) passed first.
    @discardableResult
    public func flush(timeout: Double = 5) -> Bool {
        let target = lock.withLock { state -> UInt64 in
            state.waiters += 1
            state.consumerIdle = false
            lock.broadcast()
            return state.nextSequence - 1
        }
        return lock.wait(
            until: { $0.statistics.acknowledged >= target && $0.droppedSinceReport == 0 || $0.finished },
            deadline: MonotonicClock.deadline(after: timeout)
        ) { state, ready in
            state.waiters -= 1
            return ready && state.statistics.acknowledged >= target
        }
    }

    /// Flushes (up to `timeout` seconds), then stops the background thread and closes
    /// the connection. Records logged afterwards are counted as dropped.
    public func shutdown(timeout: Double = 5) {
        flush(timeout: timeout)
        lock.withLock { state in
            state.closing = true
            lock.broadcast()
        }
        thread.join()
        ExitFlush.unregister(self)
    }

    /// Reached only after `shutdown()`: until then the thread holds the shipper (`OwnedThread`).
    deinit { assert(!thread.isRunning, "a RecordShipper's thread holds it until shutdown()") }

    /// The counters now.
    public var statistics: Statistics {
        lock.withLock { state in
            var statistics = state.statistics
            statistics.held = state.held
            return statistics
        }
    }
}

/// A normal process exit flushes what every live shipper holds.
enum ExitFlush {
    private static let shippers = ConditionLock<[ObjectIdentifier: RecordShipper]>([:])
    private static let installed = Atomic<Bool>(false)

    static func register(_ shipper: RecordShipper) {
        guard shipper.configuration.flushAtExit != nil else { return }
        shippers.withLock { $0[ObjectIdentifier(shipper)] = shipper }
        if installed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            atexit {
                let all = ExitFlush.shippers.withLock { Array($0.values) }
                for shipper in all { shipper.flush(timeout: shipper.configuration.flushAtExit ?? 0) }
            }
        }
    }

    static func unregister(_ shipper: RecordShipper) {
        _ = shippers.withLock { $0.removeValue(forKey: ObjectIdentifier(shipper)) }
    }
}

/// A record in the shipper's queue, its metadata possibly not yet flattened.
struct QueuedRecord: Sendable {
    var record: LogRecord
    var base: Logger.Metadata
    var explicit: Logger.Metadata?

    /// The record as it goes on the wire (on the shipper's thread).
    func flattened() -> LogRecord {
        guard !base.isEmpty || !(explicit?.isEmpty ?? true) else { return record }
        var record = record
        record.metadata = MetadataMerge.merged(base: base, provider: nil, explicit: explicit, error: nil)
        return record
    }
}
