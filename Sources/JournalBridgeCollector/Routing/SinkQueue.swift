import JournalBridge
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Counts down the sinks a batch went to; runs `onStored` when the last one has written it.
final class StoreTicket: Sendable {
    private let remaining: Atomic<Int>
    private let onStored: @Sendable () -> Void

    init(count: Int, onStored: @escaping @Sendable () -> Void) {
        self.remaining = Atomic(count)
        self.onStored = onStored
    }

    func done() {
        if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { onStored() }
    }
}

/// Puts a sink on a thread of its own behind a bounded queue, so a slow sink
/// (journald) never stalls the others. A full queue makes the caller wait: the
/// wait reaches the workers as backpressure, and nothing is lost.
package final class SinkQueue: LogSink {
    private struct Item {
        var records: [LogRecord]
        var ticket: StoreTicket?
        /// Taken from the memory budget's record share; given back once written.
        var bytes = 0
    }

    private struct State {
        var items: [Item] = []
        var queued = 0
        var busy = false
        var closing = false
        var budget: MemoryBudget?
    }

    /// What a full queue does to the records routed to it.
    package enum Overflow: Sendable, Equatable {
        /// Wait for room: lossless; the wait reaches the workers as backpressure.
        case block
        /// Drop them for this sink only (counted, reported once per episode); the other sinks still get them.
        case drop
    }

    package let inner: any LogSink
    package let capacity: Int
    package let overflow: Overflow
    private let lock = ConditionLock(State())
    private let thread = ConditionLock<pthread_t?>(nil)
    private let shed = Atomic<Int>(0)
    private let shedReport: ConditionLock<FailureReport>
    /// Run on the queue's thread after each round of writes and after each idle call: the
    /// router looks at the sink's failure count there.
    private let afterWrite = ConditionLock<(@Sendable () -> Void)?>(nil)

    package init(_ inner: any LogSink, capacity: Int = 16384, overflow: Overflow = .block) {
        self.inner = inner
        self.capacity = max(1, capacity)
        self.overflow = overflow
        self.shedReport = ConditionLock(FailureReport(sink: inner.name))
        let started = startThread(name: "jb-\(inner.name)") { [unowned self] in self.run() }
        thread.withLock { $0 = started }
    }

    package var name: String { inner.name }
    package var failedCount: Int { inner.failedCount + shed.load(ordering: .relaxed) }
    package var packedCount: Int { inner.packedCount }
    package var lastFailure: String? {
        inner.lastFailure ?? (shed.load(ordering: .relaxed) > 0 ? "queue full (\(capacity) records)" : nil)
    }

    func setAfterWrite(_ body: @escaping @Sendable () -> Void) { afterWrite.withLock { $0 = body } }

    package func write(_ records: [LogRecord]) { enqueue(records, ticket: nil) }

    /// Counts what this queue holds against `budget`'s record share (the collector's
    /// memory budget): a full share makes `enqueue` wait (or drop, for `.drop`) like a full queue.
    package func useBudget(_ budget: MemoryBudget) {
        lock.withLock { $0.budget = budget }
    }

    /// `bypassingCapacity`: never wait (the router's own reports, at most one a second per
    /// failing sink, must not wait on a sink thread that may itself be waiting to report). They
    /// may go 64 records past the capacity; past that they are not queued (a queue that far
    /// behind is stuck; the loss is on stderr and in the statistics already). They take nothing
    /// from the memory budget: they are few and small, and must not wait for it either.
    func enqueue(_ records: [LogRecord], ticket: StoreTicket?, bypassingCapacity: Bool = false) {
        let capacity = self.capacity
        if bypassingCapacity {
            lock.withLock { state in
                guard state.queued + records.count <= capacity + 64 || state.queued == 0 else { return }
                state.items.append(Item(records: records, ticket: ticket))
                state.queued += records.count
                lock.broadcast()
            }
            return
        }
        let fits: (State) -> Bool = { $0.queued == 0 || $0.queued + records.count <= capacity || $0.closing }
        // The budget first: it is freed by every queue's thread, none of which waits for
        // the caller, so waiting here cannot deadlock; then room in this queue.
        let budget = lock.withLock { $0.budget }
        let bytes = budget == nil ? 0 : MemoryBudget.approximateBytes(of: records)
        if overflow == .drop {
            let reserved = budget?.tryReserveRecords(bytes) ?? true
            let accepted =
                reserved
                && lock.withLock { state -> Bool in
                    guard fits(state) else { return false }
                    state.items.append(Item(records: records, ticket: ticket, bytes: bytes))
                    state.queued += records.count
                    lock.broadcast()
                    return true
                }
            if !accepted {
                if reserved { budget?.releaseRecords(bytes) }
                shed.add(records.count, ordering: .relaxed)
                shedReport.withLock {
                    $0.failed(
                        "queue full (\(capacity) records or the memory budget), dropping records for this sink only",
                        records: records.count)
                }
                ticket?.done()
            }
            return
        }
        budget?.reserveRecords(bytes)
        lock.wait(until: fits) { state, _ in
            state.items.append(Item(records: records, ticket: ticket, bytes: bytes))
            state.queued += records.count
            lock.broadcast()
        }
    }

    private func run() {
        while true {
            let (items, closing, budget) = lock.wait(
                until: { !$0.items.isEmpty || $0.closing }, deadline: MonotonicClock.deadline(after: 1)
            ) { state, _ in
                defer { state.items.removeAll(keepingCapacity: true) }
                state.busy = !state.items.isEmpty
                return (state.items, state.closing, state.budget)
            }
            var written = 0
            if items.isEmpty && !closing { inner.idle() }
            if !items.isEmpty && overflow == .drop { shedReport.withLock { $0.recovered() } }
            for item in items {
                inner.write(item.records)
                budget?.releaseRecords(item.bytes)
                item.ticket?.done()
                written += item.records.count
            }
            if !items.isEmpty || !closing, let afterWrite = afterWrite.withLock({ $0 }) { afterWrite() }
            lock.withLock { state in
                state.queued -= written
                state.busy = false
                lock.broadcast()
            }
            if closing && items.isEmpty { return }
        }
    }

    /// Waits until everything queued so far is written.
    package func flush() {
        lock.wait(until: { $0.items.isEmpty && !$0.busy }) { _, _ in }
        inner.flush()
    }

    package func reopen() { inner.reopen() }

    /// Drains, stops the thread, closes the sink.
    package func close() {
        flush()
        lock.withLock { state in
            state.closing = true
            lock.broadcast()
        }
        if let thread = thread.withLock({ t -> pthread_t? in
            defer { t = nil }; return t
        }) {
            pthread_join(thread, nil)
            inner.close()
        }
    }
}
