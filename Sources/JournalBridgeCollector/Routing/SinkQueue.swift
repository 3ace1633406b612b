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
        /// When it was routed, for the latency histogram.
        var routedAt: UInt64 = 0
    }

    fileprivate struct State {
        var items: [Item] = []
        var queued = 0
        var busy = false
        var closing = false
        /// Batches written, for the next `enqueue` to release: freeing a batch of records costs
        /// about a quarter of a file sink's thread, which is the one thread every record of the
        /// sink goes through; the routers that enqueue are many (each input's threads). Held at
        /// most until the next enqueue, or a second when none comes (the worker then frees them).
        var written: [[LogRecord]] = []
    }

    package let inner: any LogSink
    package let capacity: Int
    /// What a full queue does now (a reload may change it: `setOverflow`).
    package var overflow: SinkRoute.Overflow { policy.withLock { $0 } }
    private let policy: ConditionLock<SinkRoute.Overflow>
    /// This sink's exact counters (routed, written, dropped by reason, in flight, latency).
    package let tally: SinkTally
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
        let policy = ConditionLock(overflow)
        self.policy = policy
        self.budget = budget
        self.shedReport = ConditionLock(FailureReport(sink: inner.name))
        let tally = SinkTally(name: inner.name)
        self.tally = tally
        let worker = Worker(
            inner: inner, policy: policy, budget: budget, lock: lock, shedReport: shedReport, afterWrite: afterWrite,
            tally: tally)
        thread.start(name: "jb-\(inner.name)", scheduling: Self.scheduling(of: inner)) { worker.run() }
    }

    deinit { close() }

    /// `.batch` for the journald sink's thread, the process's own policy for the others.
    ///
    /// journald wakes this thread itself: a send that found journald's queue full waits until
    /// journald reads an entry, and that read wakes the sender "synchronously" (the kernel's
    /// hint that the waker is about to sleep), so the scheduler puts it on journald's CPU,
    /// where it preempted journald, which was not about to sleep. Measured with
    /// `perf sched record` during `bench --syslog unix` into journald: journald preempted
    /// 5,000-6,800 times in 2 s by this thread (and 2,400-3,500 times by the senders it
    /// woke), runnable but not running 13-16 % of the time, while the other CPU idled 8-14 %.
    /// Under `SCHED_BATCH` this thread waits for journald's slice to end or for the other CPU
    /// to take it: journald was preempted some 200 times and ran 86-91 % of the time instead of
    /// 77-83 %; the bench's rate went from 36,069 to 38,864 records/s, 0.92x to 1.05x journald's
    /// ceiling (medians of 6 runs, the two builds in turns; docs/performance.md). The file and
    /// forward sinks are woken by their inputs, not by the process they write to; they keep
    /// the default.
    private static func scheduling(of sink: any LogSink) -> OwnedThread.Scheduling {
        sink is JournaldSink ? .batch : .inherited
    }

    /// The sink's failures and the records the queue dropped (`.drop`) for it.
    package var failedCount: Int { inner.failedCount + shed.load(ordering: .relaxed) }

    package var lastFailure: String? {
        inner.lastFailure ?? (shed.load(ordering: .relaxed) > 0 ? "queue full (\(capacity) records)" : nil)
    }

    /// Changes what a full queue does, from the next record routed (a reload).
    package func setOverflow(_ overflow: SinkRoute.Overflow) { policy.withLock { $0 = overflow } }

    func setAfterWrite(_ body: @escaping @Sendable () -> Void) { afterWrite.withLock { $0 = body } }

    /// `bypassingCapacity`: never wait (the router's own reports, at most one a second per
    /// failing sink, must not wait on a sink thread that may itself be waiting to report). They
    /// may go 64 records past the capacity; past that they are not queued (a queue that far
    /// behind is stuck; the loss is on stderr and in the statistics already). They take nothing
    /// from the memory budget: they are few and small, and must not wait for it either.
    func enqueue(_ records: [LogRecord], ticket: StoreTicket?, bypassingCapacity: Bool = false) {
        let capacity = self.capacity
        let now = MonotonicClock.now()
        // Batches this queue's thread wrote, taken under the lock and freed when this returns.
        var written: [[LogRecord]] = []
        if bypassingCapacity {
            let queued = lock.withLock { state -> Bool in
                // Written so that no capacity, however large, overflows the sum.
                guard state.queued + records.count - 64 <= capacity || state.queued == 0 else { return false }
                // Counted under the queue's lock, before the thread can take it.
                tally.enqueued(records.count)
                state.items.append(Item(records: records, ticket: ticket, routedAt: now))
                state.queued += records.count
                lock.broadcast()
                return true
            }
            if !queued {
                tally.refused(records.count, reason: .queueFull)
                ticket?.done()
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
                    tally.enqueued(records.count)
                    swap(&written, &state.written)
                    state.items.append(Item(records: records, ticket: ticket, bytes: bytes, routedAt: now))
                    state.queued += records.count
                    lock.broadcast()
                    return true
                }
            if !accepted {
                if reserved { budget?.releaseRecords(bytes) }
                shed.add(records.count, ordering: .relaxed)
                tally.refused(records.count, reason: .queueFull)
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
            tally.enqueued(records.count)
            swap(&written, &state.written)
            state.items.append(Item(records: records, ticket: ticket, bytes: bytes, routedAt: now))
            state.queued += records.count
            lock.broadcast()
        }
    }

    /// What the queue's thread works with: everything but the queue itself.
    private struct Worker: Sendable {
        let inner: any LogSink
        let policy: ConditionLock<SinkRoute.Overflow>
        let budget: MemoryBudget?
        let lock: ConditionLock<State>
        let shedReport: ConditionLock<FailureReport>
        let afterWrite: ConditionLock<(@Sendable () -> Void)?>
        let tally: SinkTally

        func run() {
            while true {
                let (taken, closing) = lock.wait(
                    until: { !$0.items.isEmpty || $0.closing }, deadline: MonotonicClock.deadline(after: 1)
                ) { state, _ in
                    defer { state.items.removeAll(keepingCapacity: true) }
                    state.busy = !state.items.isEmpty
                    return (state.items, state.closing)
                }
                let wasEmpty = taken.isEmpty
                // Taken one by one off a reversed copy, so that this thread holds no batch once
                // it is written and put aside (`State.written`): its last reference is there.
                var items = Array(taken.reversed())
                _ = consume taken
                if wasEmpty && !closing {
                    // Nobody enqueued for a second: the written batches are freed here.
                    var written: [[LogRecord]] = []
                    lock.withLock { state in swap(&written, &state.written) }
                    written = []
                    inner.idle()
                    settle(taken: 0, routedAt: nil)
                }
                if !wasEmpty && policy.withLock({ $0 }) == .drop { shedReport.withLock { $0.recovered() } }
                while var item = items.popLast() {
                    // An empty item only keeps a batch's acknowledgement in order (see `Router.route`).
                    if !item.records.isEmpty { inner.write(item.records) }
                    settle(taken: item.records.count, routedAt: item.routedAt)
                    budget?.releaseRecords(item.bytes)
                    item.ticket?.done()
                    // Room for more as soon as each batch is written, not after all that was
                    // taken: a router waiting on a full queue goes on while this thread writes.
                    guard !item.records.isEmpty else { continue }
                    let count = item.records.count
                    var done: [LogRecord] = []
                    swap(&done, &item.records)
                    lock.withLock { state in
                        state.queued -= count
                        state.written.append(done)
                        done = []
                        lock.broadcast()
                    }
                }
                if !wasEmpty || !closing, let afterWrite = afterWrite.withLock({ $0 }) { afterWrite() }
                lock.withLock { state in
                    state.busy = false
                    lock.broadcast()
                }
                if closing && wasEmpty { return }
            }
        }

        /// Brings the tally up to date with the sink's own counts, after a call into the sink.
        func settle(taken: Int, routedAt: UInt64?) {
            let accounted = inner as? any AccountedSink
            tally.settle(
                taken: taken, latency: routedAt.map { MonotonicClock.now() &- $0 }, failed: inner.failedCount,
                backlogDropped: accounted?.backlogDropCount ?? 0, held: accounted?.heldCount ?? 0
            )
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
        if thread.join() && !onOwnThread {
            inner.close()
            Worker(
                inner: inner, policy: policy, budget: budget, lock: lock, shedReport: shedReport,
                afterWrite: afterWrite, tally: tally
            )
            .settle(taken: 0, routedAt: nil)
        }
    }
}
