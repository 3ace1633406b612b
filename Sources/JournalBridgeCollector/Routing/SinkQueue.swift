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
/// (journald) never stalls the others. A full queue makes the caller wait (`.block`: the
/// wait reaches the inputs, which stop reading: backpressure, nothing lost) or drops for
/// this sink only (`.drop`, counted). The router makes one for each route of a collector
/// (`Router.init(routes:queueCapacity:budget:)`), with the route's policy: nowhere else.
///
/// Thread: started in `init`, ended and joined by `close()`, which `deinit` calls (the
/// thread-owner rule, `OwnedThread`): the thread holds the queue's parts, not the queue.
package final class SinkQueue: Sendable {
    fileprivate struct Item {
        var records: [LogRecord]
        var ticket: StoreTicket?
        /// Taken from the memory budget's record share; given back once written.
        var bytes = 0
    }

    fileprivate struct State {
        var items: [Item] = []
        var queued = 0
        var busy = false
        var closing = false
    }

    package let inner: any LogSink
    package let capacity: Int
    package let overflow: SinkRoute.Overflow
    /// The collector's memory budget: what this queue holds counts against its record share,
    /// and a full share makes `enqueue` wait (or drop, for `.drop`) like a full queue.
    private let budget: MemoryBudget?
    private let lock = ConditionLock(State())
    private let thread = OwnedThread()
    private let shed = Atomic<Int>(0)
    private let shedReport: ConditionLock<FailureReport>
    /// Run on the queue's thread after each round of writes and after each idle call: the
    /// router looks at the sink's failure count there.
    private let afterWrite = ConditionLock<(@Sendable () -> Void)?>(nil)

    package init(
        _ inner: any LogSink, capacity: Int, overflow: SinkRoute.Overflow = .block, budget: MemoryBudget? = nil
    ) {
        self.inner = inner
        self.capacity = max(1, capacity)
        self.overflow = overflow
        self.budget = budget
        self.shedReport = ConditionLock(FailureReport(sink: inner.name))
        let worker = Worker(
            inner: inner, overflow: overflow, budget: budget, lock: lock, shedReport: shedReport, afterWrite: afterWrite
        )
        thread.start(name: "jb-\(inner.name)") { worker.run() }
    }

    deinit { close() }

    /// The sink's failures and the records the queue dropped (`.drop`) for it.
    package var failedCount: Int { inner.failedCount + shed.load(ordering: .relaxed) }

    package var lastFailure: String? {
        inner.lastFailure ?? (shed.load(ordering: .relaxed) > 0 ? "queue full (\(capacity) records)" : nil)
    }

    func setAfterWrite(_ body: @escaping @Sendable () -> Void) { afterWrite.withLock { $0 = body } }

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

    /// What the queue's thread works with: everything but the queue itself.
    private struct Worker: Sendable {
        let inner: any LogSink
        let overflow: SinkRoute.Overflow
        let budget: MemoryBudget?
        let lock: ConditionLock<State>
        let shedReport: ConditionLock<FailureReport>
        let afterWrite: ConditionLock<(@Sendable () -> Void)?>

        func run() {
            while true {
                let (items, closing) = lock.wait(
                    until: { !$0.items.isEmpty || $0.closing }, deadline: MonotonicClock.deadline(after: 1)
                ) { state, _ in
                    defer { state.items.removeAll(keepingCapacity: true) }
                    state.busy = !state.items.isEmpty
                    return (state.items, state.closing)
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
    }

    /// Waits until everything queued so far is written.
    package func flush() {
        lock.wait(until: { $0.items.isEmpty && !$0.busy }) { _, _ in }
        inner.flush()
    }

    package func reopen() { inner.reopen() }

    /// Drains, stops and joins the thread, closes the sink. Again: nothing.
    package func close() {
        // Released on its own thread (the router's last reference dropped in a failure report
        // there), it cannot wait for itself: it drains what it holds and ends (`join` detaches
        // it), and the sink, no longer referenced, closes in its own deinit.
        let onOwnThread = thread.isCurrent
        if !onOwnThread { flush() }
        lock.withLock { state in
            state.closing = true
            lock.broadcast()
        }
        if thread.join() && !onOwnThread { inner.close() }
    }
}
