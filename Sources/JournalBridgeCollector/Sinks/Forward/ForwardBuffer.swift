import JournalBridge
import NIOCore

/// The messages a forward sink holds for its receiver, oldest first: those sent and not
/// yet confirmed (RELP: acknowledged; TCP/TLS: written to the socket), then those not
/// sent. Bounded in records and bytes: past either bound the oldest are dropped and counted
/// (`dropped`), never silently. Shared by the sink's queue thread (`append`) and its
/// event loop (the rest), under one lock.
package final class ForwardBuffer: Sendable {
    package struct Entry: Sendable {
        package var id: UInt64
        package var bytes: [UInt8]
    }

    private struct State {
        var entries = CircularBuffer<Entry>()
        /// How many entries at the front have been sent (in flight).
        var sent = 0
        var bytes = 0
        var nextID: UInt64 = 1
        var dropped = 0
        var droppedUnreported = 0
        var confirmed = 0
    }

    package let maximumRecords: Int
    package let maximumBytes: Int
    private let state = ConditionLock(State())

    package init(maximumRecords: Int, maximumBytes: Int) {
        self.maximumRecords = max(1, maximumRecords)
        self.maximumBytes = max(1, maximumBytes)
    }

    /// Takes the messages; drops the oldest past the bounds. Returns how many it dropped.
    @discardableResult
    package func append(_ messages: [[UInt8]]) -> Int {
        state.withLock { state in
            for message in messages {
                state.entries.append(Entry(id: state.nextID, bytes: message))
                state.nextID += 1
                state.bytes += message.count
            }
            var dropped = 0
            // One message larger than the byte bound still goes alone: the bound is for the many.
            while state.entries.count > maximumRecords || (state.bytes > maximumBytes && state.entries.count > 1) {
                let oldest = state.entries.removeFirst()
                state.bytes -= oldest.bytes.count
                if state.sent > 0 { state.sent -= 1 }
                dropped += 1
            }
            state.dropped += dropped
            state.droppedUnreported += dropped
            if state.entries.isEmpty { self.state.broadcast() }
            return dropped
        }
    }

    /// The next message not sent yet, now counted as sent.
    package func next() -> Entry? {
        state.withLock { state in
            guard state.sent < state.entries.count else { return nil }
            defer { state.sent += 1 }
            return state.entries[state.entries.index(state.entries.startIndex, offsetBy: state.sent)]
        }
    }

    /// Whether a message waits to be sent.
    package var hasUnsent: Bool { state.withLock { $0.sent < $0.entries.count } }

    /// The receiver has the messages up to `id` (inclusive): they leave the buffer.
    package func confirm(upTo id: UInt64) {
        state.withLock { state in
            while let first = state.entries.first, first.id <= id, state.sent > 0 {
                state.entries.removeFirst()
                state.bytes -= first.bytes.count
                state.sent -= 1
                state.confirmed += 1
            }
            if state.entries.isEmpty { self.state.broadcast() }
        }
    }

    /// The connection broke: what was sent and not confirmed is sent again.
    package func rewind() { state.withLock { $0.sent = 0 } }

    /// Records held (sent or not).
    package var count: Int { state.withLock { $0.entries.count } }
    /// Records dropped from a full buffer since the start.
    package var dropped: Int { state.withLock { $0.dropped } }
    /// Records the receiver confirmed since the start.
    package var confirmed: Int { state.withLock { $0.confirmed } }

    /// Dropped records not yet reported to the receiver; resets the count.
    package func takeUnreportedDrops() -> Int {
        state.withLock { state in
            defer { state.droppedUnreported = 0 }
            return state.droppedUnreported
        }
    }

    /// Puts back a count `takeUnreportedDrops` returned when its report did not get through.
    package func restoreUnreportedDrops(_ count: Int) { state.withLock { $0.droppedUnreported += count } }

    /// Waits until the buffer is empty or the deadline (monotonic nanoseconds) passes;
    /// returns what is left.
    package func waitUntilEmpty(deadline: UInt64) -> Int {
        state.wait(until: { $0.entries.isEmpty }, deadline: deadline) { state, _ in state.entries.count }
    }

    /// Empties the buffer (at close); returns how many records were still in it.
    package func removeAll() -> Int {
        state.withLock { state in
            defer {
                state.entries.removeAll()
                state.sent = 0
                state.bytes = 0
            }
            return state.entries.count
        }
    }
}
