import JournalBridge
import NIOCore

/// The messages a forward sink holds for its receiver, oldest first: those sent and not
/// yet confirmed (RELP: acknowledged; TCP/TLS: written to the socket), then those not
/// sent. Bounded in records and bytes: past either bound the oldest are dropped and counted
/// (`dropped`), never silently; with a spill directory (`ForwardSpill`) what does not fit
/// goes to disk instead, in order, and the drops happen only past the spill's own bound. Shared by the sink's queue thread (`append`) and its
/// event loop (the rest), under one lock.
///
/// Messages are kept in blocks (`Block`), as the sink formatted them, one block per batch:
/// one allocation per batch and one lock per batch and per chunk sent, not per message.
package final class ForwardBuffer: Sendable {
    /// Messages back to back in one array: one batch as the sink formatted it, or one
    /// spilled segment brought back. Never changed once in the buffer (the buffer only
    /// moves past its first messages), so the link reads it outside the lock.
    package struct Block: Sendable {
        package var bytes: [UInt8] = []
        /// Where each message ends in `bytes`.
        package var ends: [Int] = []
        /// The id of the first message, the others following it; 0 for a message that is
        /// not the buffer's (the link's own report of drops).
        package var firstID: UInt64 = 0

        package init() {}

        package init(_ messages: [[UInt8]]) {
            ends.reserveCapacity(messages.count)
            for index in messages.indices { append(messages[index]) }
        }

        package var count: Int { ends.count }
        package func start(_ index: Int) -> Int { index == 0 ? 0 : ends[index - 1] }
        package func size(_ index: Int) -> Int { ends[index] - start(index) }
        package func id(_ index: Int) -> UInt64 { firstID == 0 ? 0 : firstID + UInt64(index) }
        package func message(_ index: Int) -> ArraySlice<UInt8> { bytes[start(index)..<ends[index]] }

        package mutating func append(_ message: some Collection<UInt8>) {
            bytes.append(contentsOf: message)
            ends.append(bytes.count)
        }
    }

    /// Messages `range` of `block`, for the link to send.
    package struct Run: Sendable {
        package var block: Block
        package var range: Range<Int>
    }

    /// One message, as `next()` gives it.
    package struct Entry: Sendable {
        package var id: UInt64
        package var bytes: [UInt8]
    }

    private struct State {
        var blocks = CircularBuffer<Block>()
        /// Messages of the first block already gone (confirmed or dropped).
        var head = 0
        /// Messages held in memory.
        var count = 0
        /// How many messages at the front have been sent (in flight).
        var sent = 0
        var bytes = 0
        var nextID: UInt64 = 1
        var dropped = 0
        var droppedUnreported = 0
        var confirmed = 0
        var spill: ForwardSpill?

        mutating func add(_ block: Block) {
            guard block.count > 0 else { return }
            var block = block
            block.firstID = nextID
            nextID += UInt64(block.count)
            count += block.count
            bytes += block.bytes.count
            blocks.append(block)
        }

        /// Removes up to `limit` messages from the front (only those of the first block);
        /// returns how many it removed.
        mutating func removeFront(_ limit: Int) -> Int {
            guard let first = blocks.first, limit > 0 else { return 0 }
            let removed = min(limit, first.count - head)
            bytes -= first.ends[head + removed - 1] - first.start(head)
            count -= removed
            head += removed
            if head == first.count {
                blocks.removeFirst()
                head = 0
            }
            return removed
        }
    }

    package let maximumRecords: Int
    package let maximumBytes: Int
    private let state = ConditionLock(State())

    package init(maximumRecords: Int, maximumBytes: Int, spill: ForwardSpill? = nil) {
        self.maximumRecords = max(1, maximumRecords)
        self.maximumBytes = max(1, maximumBytes)
        state.withLock {
            $0.spill = spill
            refill(&$0)
        }
    }

    /// Takes the messages; drops the oldest past the bounds. Returns how many it dropped.
    @discardableResult
    package func append(_ messages: [[UInt8]]) -> Int { append(Block(messages)) }

    /// Takes the block's messages; drops the oldest past the bounds. Returns how many it dropped.
    @discardableResult
    package func append(_ block: Block) -> Int {
        state.withLock { state in
            var dropped = 0
            if let spill = state.spill {
                if spill.isEmpty && state.count + block.count <= maximumRecords
                    && state.bytes + block.bytes.count <= maximumBytes
                {
                    state.add(block)
                } else {
                    // Once anything is on disk, everything newer goes there too: the order holds.
                    var memory = Block()
                    for index in 0..<block.count {
                        let size = block.size(index)
                        if !spill.isEmpty || state.count + memory.count >= maximumRecords
                            || state.bytes + memory.bytes.count + size > maximumBytes
                        {
                            dropped += spill.append(block.message(index))
                        } else {
                            memory.append(block.message(index))
                        }
                    }
                    state.add(memory)
                }
            } else {
                state.add(block)
                // One message larger than the byte bound still goes alone: the bound is for the many.
                // With a spill, memory goes past the bounds only by the one segment brought back: no drops here.
                while state.count > maximumRecords || (state.bytes > maximumBytes && state.count > 1) {
                    let over = state.count - maximumRecords
                    // Past the record bound, the whole excess at once; past the byte bound, one by one.
                    let removed = state.removeFront(over > 0 ? over : 1)
                    state.sent = max(0, state.sent - removed)
                    dropped += removed
                }
            }
            state.dropped += dropped
            state.droppedUnreported += dropped
            if state.count == 0 { self.state.broadcast() }
            return dropped
        }
    }

    /// The next message not sent yet, now counted as sent.
    package func next() -> Entry? {
        guard let run = next(limit: 1, bytes: 1).first else { return nil }
        return Entry(id: run.block.id(run.range.lowerBound), bytes: Array(run.block.message(run.range.lowerBound)))
    }

    /// Up to `limit` messages not sent yet (at most `bytes` bytes, but at least one), now
    /// counted as sent, as runs of the blocks that hold them.
    package func next(limit: Int, bytes: Int) -> [Run] {
        state.withLock { state in
            var runs: [Run] = []
            var taken = 0
            var size = 0
            // Where the first unsent message is: past the `sent` ones, from the front.
            var skip = state.sent
            var blockIndex = state.blocks.startIndex
            var index = state.head
            while blockIndex != state.blocks.endIndex {
                let block = state.blocks[blockIndex]
                if skip < block.count - index {
                    index += skip
                    break
                }
                skip -= block.count - index
                blockIndex = state.blocks.index(after: blockIndex)
                index = 0
            }
            while blockIndex != state.blocks.endIndex && taken < limit && (taken == 0 || size < bytes) {
                let block = state.blocks[blockIndex]
                let first = index
                while index < block.count && taken < limit && (taken == 0 || size < bytes) {
                    size += block.size(index)
                    index += 1
                    taken += 1
                }
                runs.append(Run(block: block, range: first..<index))
                blockIndex = state.blocks.index(after: blockIndex)
                index = 0
            }
            state.sent += taken
            return runs
        }
    }

    /// Whether a message waits to be sent.
    package var hasUnsent: Bool { state.withLock { $0.sent < $0.count } }

    /// The receiver has the messages up to `id` (inclusive): they leave the buffer.
    package func confirm(upTo id: UInt64) {
        state.withLock { state in
            while state.sent > 0, let first = state.blocks.first {
                let frontID = first.firstID + UInt64(state.head)
                guard frontID <= id else { break }
                let removed = state.removeFront(min(state.sent, Int(clamping: id - frontID + 1)))
                state.sent -= removed
                state.confirmed += removed
            }
            refill(&state)
            if state.count == 0 && (state.spill?.isEmpty ?? true) { self.state.broadcast() }
        }
    }

    /// Brings the oldest spilled segment into memory once memory is half empty.
    private func refill(_ state: inout State) {
        guard let spill = state.spill else { return }
        while !spill.isEmpty && state.count < maximumRecords / 2 && state.bytes < maximumBytes / 2 {
            // Not now (out of descriptors): the next refill tries again.
            guard let (messages, lost) = spill.takeOldest() else { break }
            // Records a segment no longer held (not ours any more, cut short): dropped, and said.
            state.dropped += lost
            state.droppedUnreported += lost
            state.add(Block(messages))
        }
    }

    /// Why the spill last failed, if it did.
    package var spillProblem: String? { state.withLock { $0.spill?.lastProblem } }

    /// The connection broke: what was sent and not confirmed is sent again.
    package func rewind() { state.withLock { $0.sent = 0 } }

    /// Records held (sent or not), in memory and on disk.
    package var count: Int { state.withLock { $0.count + ($0.spill?.records ?? 0) } }
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
        state.wait(until: { $0.count == 0 && ($0.spill?.isEmpty ?? true) }, deadline: deadline) { state, _ in
            state.count + (state.spill?.records ?? 0)
        }
    }

    /// Empties the buffer (at close); returns how many records were lost with it. With a
    /// spill, none: what memory held is written before what is on disk, for the next start.
    package func removeAll() -> Int {
        state.withLock { state in
            defer {
                state.blocks.removeAll()
                state.head = 0
                state.count = 0
                state.sent = 0
                state.bytes = 0
            }
            if let spill = state.spill {
                var messages: [[UInt8]] = []
                messages.reserveCapacity(state.count)
                var head = state.head
                for block in state.blocks {
                    for index in head..<block.count { messages.append(Array(block.message(index))) }
                    head = 0
                }
                spill.prepend(messages)
                return 0
            }
            return state.count
        }
    }
}
