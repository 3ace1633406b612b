import JournalBridge
import NIOCore

/// The messages a forward sink holds for its receiver, oldest first: those sent and not
/// yet confirmed (RELP: acknowledged; TCP/TLS: written to the socket), then those not
/// sent. Bounded in records and bytes: past either bound the oldest are dropped and counted
/// (`dropped`), never silently; with a spill directory (`ForwardSpill`) what does not fit
/// goes to disk instead, in order, and the drops happen only past the spill's own bound. Shared by the sink's queue thread (`append`) and its
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
        var spill: ForwardSpill?
    }

    package let maximumRecords: Int
    package let maximumBytes: Int
    private let state = ConditionLock(State())

    package init(maximumRecords: Int, maximumBytes: Int, spill: ForwardSpill? = nil) {
        self.maximumRecords = max(1, maximumRecords)
        self.maximumBytes = max(1, maximumBytes)
        state.withLock { $0.spill = spill }
        refill()
    }

    /// Takes the messages; drops the oldest past the bounds. Returns how many it dropped.
    @discardableResult
    package func append(_ messages: [[UInt8]]) -> Int {
        state.withLock { state in
            var dropped = 0
            for message in messages {
                // Once anything is on disk, everything newer goes there too: the order holds.
                if let spill = state.spill,
                    !spill.isEmpty || state.entries.count >= maximumRecords
                        || state.bytes + message.count > maximumBytes
                {
                    dropped += spill.append(message)
                    continue
                }
                state.entries.append(Entry(id: state.nextID, bytes: message))
                state.nextID += 1
                state.bytes += message.count
            }
            // One message larger than the byte bound still goes alone: the bound is for the many.
            // With a spill, memory goes past the bounds only by the one segment brought back: no drops here.
            while state.spill == nil
                && (state.entries.count > maximumRecords || (state.bytes > maximumBytes && state.entries.count > 1))
            {
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

    /// Up to `limit` messages not sent yet (at most `bytes` bytes, but at least one), now counted as sent.
    package func next(limit: Int, bytes: Int) -> [Entry] {
        state.withLock { state in
            var taken: [Entry] = []
            var size = 0
            while state.sent < state.entries.count && taken.count < limit && (taken.isEmpty || size < bytes) {
                let entry = state.entries[state.entries.index(state.entries.startIndex, offsetBy: state.sent)]
                taken.append(entry)
                size += entry.bytes.count
                state.sent += 1
            }
            return taken
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
            if state.entries.isEmpty && (state.spill?.isEmpty ?? true) { self.state.broadcast() }
        }
        refill()
    }

    /// Brings the oldest spilled segment into memory once memory is half empty.
    private func refill() {
        state.withLock { state in
            guard let spill = state.spill else { return }
            while !spill.isEmpty && state.entries.count < maximumRecords / 2 && state.bytes < maximumBytes / 2 {
                for message in spill.takeOldest() {
                    state.entries.append(Entry(id: state.nextID, bytes: message))
                    state.nextID += 1
                    state.bytes += message.count
                }
            }
        }
    }

    /// Why the spill last failed, if it did.
    package var spillProblem: String? { state.withLock { $0.spill?.lastProblem } }

    /// The connection broke: what was sent and not confirmed is sent again.
    package func rewind() { state.withLock { $0.sent = 0 } }

    /// Records held (sent or not), in memory and on disk.
    package var count: Int { state.withLock { $0.entries.count + ($0.spill?.records ?? 0) } }
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
        state.wait(until: { $0.entries.isEmpty && ($0.spill?.isEmpty ?? true) }, deadline: deadline) { state, _ in
            state.entries.count + (state.spill?.records ?? 0)
        }
    }

    /// Empties the buffer (at close); returns how many records were lost with it. With a
    /// spill, none: what memory held is written before what is on disk, for the next start.
    package func removeAll() -> Int {
        state.withLock { state in
            defer {
                state.entries.removeAll()
                state.sent = 0
                state.bytes = 0
            }
            if let spill = state.spill {
                spill.prepend(state.entries.map(\.bytes))
                return 0
            }
            return state.entries.count
        }
    }
}
