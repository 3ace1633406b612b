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
public final class SinkQueue: LogSink {
    private struct Item {
        var records: [LogRecord]
        var ticket: StoreTicket?
    }

    private struct State {
        var items: [Item] = []
        var queued = 0
        var busy = false
        var closing = false
    }

    public let inner: any LogSink
    public let capacity: Int
    private let lock = ConditionLock(State())
    private let thread = Mutex<pthread_t?>(nil)

    public init(_ inner: any LogSink, capacity: Int = 32768) {
        self.inner = inner
        self.capacity = max(1, capacity)
        let started = startThread(name: "jb-\(inner.name)") { [unowned self] in self.run() }
        thread.withLock { $0 = started }
    }

    public var name: String { inner.name }
    public var failedCount: Int { inner.failedCount }

    public func write(_ records: [LogRecord]) { enqueue(records, ticket: nil) }

    func enqueue(_ records: [LogRecord], ticket: StoreTicket?) {
        let capacity = self.capacity
        lock.wait(until: { $0.queued == 0 || $0.queued + records.count <= capacity || $0.closing }) { state, _ in
            state.items.append(Item(records: records, ticket: ticket))
            state.queued += records.count
            lock.broadcast()
        }
    }

    private func run() {
        while true {
            let (items, closing) = lock.wait(until: { !$0.items.isEmpty || $0.closing }) { state, _ in
                defer { state.items.removeAll(keepingCapacity: true) }
                state.busy = !state.items.isEmpty
                return (state.items, state.closing)
            }
            var written = 0
            for item in items {
                inner.write(item.records)
                item.ticket?.done()
                written += item.records.count
            }
            lock.withLock { state in
                state.queued -= written
                state.busy = false
                lock.broadcast()
            }
            if closing && items.isEmpty { return }
        }
    }

    /// Waits until everything queued so far is written.
    public func flush() {
        lock.wait(until: { $0.items.isEmpty && !$0.busy }) { _, _ in }
        inner.flush()
    }

    public func reopen() { inner.reopen() }

    /// Drains, stops the thread, closes the sink.
    public func close() {
        flush()
        lock.withLock { state in
            state.closing = true
            lock.broadcast()
        }
        if let thread = thread.withLock({ t -> pthread_t? in defer { t = nil }; return t }) {
            pthread_join(thread, nil)
            inner.close()
        }
    }
}
