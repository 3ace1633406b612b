import JournalBridge

/// The collector's one bound on memory, for all its clients together: unfinished
/// frames (what the connections' decoders buffer) and queued records (what the sink
/// queues hold). Each has half of the limit, so that neither can starve the other:
/// the I/O thread may wait for record room (sink threads free it, and they never wait
/// for the I/O thread), but never for frame room (it pauses that connection instead).
package final class MemoryBudget: Sendable {
    /// The smallest `memory_limit` the daemon accepts: half of it still holds one
    /// maximum-size frame (smaller budgets, set in code, let that one frame overdraw).
    package static let minimumLimit = 2 * WireProtocol.maxFrameBytes

    package struct Usage: Sendable, Equatable {
        /// Bytes reserved for unfinished frames.
        package var frames = 0
        /// Of `frames`, what syslog stream connections hold (`reserveStream`).
        package var streams = 0
        /// Approximate bytes of records waiting in sink queues (a record queued for two sinks counts twice).
        package var records = 0

        package init(frames: Int = 0, records: Int = 0) {
            self.frames = frames
            self.records = records
        }
    }

    /// The whole budget, bytes.
    package let limit: Int
    /// What unfinished frames may hold together.
    package let frameLimit: Int
    /// What large frames may hold together: the last eighth of the frame share is kept
    /// for small ones (shippers send batches of 64 KiB), so that large frames stalled
    /// on purpose cannot keep every other client from being read.
    package let largeFrameLimit: Int
    /// What syslog stream connections may hold together, within the large-frame part: a
    /// quarter of it, so that idle syslog connections (each holds what its framer may buffer)
    /// cannot take the bridge workers' large frames away. 1,792 idle TCP connections did.
    package let streamLimit: Int
    /// What queued records may hold together.
    package let recordLimit: Int
    private let usage = ConditionLock(Usage())

    package init(limit: Int) {
        self.limit = max(2, limit)
        self.frameLimit = self.limit / 2
        self.largeFrameLimit = frameLimit - frameLimit / 8
        self.streamLimit = largeFrameLimit / 4
        self.recordLimit = self.limit - self.frameLimit
    }

    package var current: Usage { usage.withLock { $0 } }

    // MARK: frames (the I/O thread only; never waits)

    /// Takes `bytes` for frames if they fit (for a `large` frame, within `largeFrameLimit`);
    /// when nothing at all is held for frames it always succeeds, so one maximum-size
    /// frame passes even a budget smaller than it.
    package func reserveFrame(_ bytes: Int, large: Bool = false) -> Bool {
        guard bytes > 0 else { return true }
        let limit = large ? largeFrameLimit : frameLimit
        return usage.withLock { usage in
            guard usage.frames == 0 || usage.frames + bytes <= limit else { return false }
            usage.frames += bytes
            return true
        }
    }

    /// Takes `bytes` for a syslog stream connection if they fit in `streamLimit` (and in the
    /// large-frame part); false otherwise (the connection is refused or another closed).
    package func reserveStream(_ bytes: Int) -> Bool {
        usage.withLock { usage in
            guard usage.streams + bytes <= streamLimit, usage.frames + bytes <= largeFrameLimit else { return false }
            usage.streams += bytes
            usage.frames += bytes
            return true
        }
    }

    package func releaseStream(_ bytes: Int) {
        usage.withLock { usage in
            assert(usage.streams >= bytes, "memory budget: released \(bytes) stream bytes of \(usage.streams) held")
            usage.streams = max(0, usage.streams - bytes)
            usage.frames = max(0, usage.frames - bytes)
        }
    }

    /// Whether syslog stream connections hold seven eighths of their part or more.
    package var streamsNearlyFull: Bool { usage.withLock { $0.streams >= streamLimit - streamLimit / 8 } }

    /// Whether `reserveFrame(bytes, large:)` would succeed now.
    package func wouldFit(_ bytes: Int, large: Bool) -> Bool {
        let limit = large ? largeFrameLimit : frameLimit
        return usage.withLock { $0.frames == 0 || bytes <= limit - $0.frames }
    }

    package func releaseFrame(_ bytes: Int) {
        guard bytes > 0 else { return }
        usage.withLock { usage in
            // Never below zero: a release without its reservation is a bug (caught in debug builds), not a reason to stop collecting.
            assert(usage.frames >= bytes, "memory budget: released \(bytes) frame bytes of \(usage.frames) held")
            usage.frames = max(0, usage.frames - bytes)
        }
    }

    /// Bytes still free for frames.
    package var freeFrameBytes: Int { usage.withLock { max(0, frameLimit - $0.frames) } }

    // MARK: records (sink queues)

    /// Waits until `bytes` fit in the record share (or nothing is queued at all: a batch
    /// larger than the share still passes alone), then takes them.
    package func reserveRecords(_ bytes: Int) {
        guard bytes > 0 else { return }
        usage.wait(until: { $0.records == 0 || $0.records + bytes <= self.recordLimit }) { usage, _ in
            usage.records += bytes
        }
    }

    /// Takes `bytes` for records if they fit now; false otherwise (the caller drops).
    package func tryReserveRecords(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        return usage.withLock { usage in
            guard usage.records == 0 || usage.records + bytes <= recordLimit else { return false }
            usage.records += bytes
            return true
        }
    }

    package func releaseRecords(_ bytes: Int) {
        guard bytes > 0 else { return }
        usage.withLock { usage in
            // Never below zero: a release without its reservation is a bug (caught in debug builds), not a reason to stop collecting.
            assert(usage.records >= bytes, "memory budget: released \(bytes) record bytes of \(usage.records) held")
            usage.records = max(0, usage.records - bytes)
        }
        usage.broadcast()
    }

    // MARK: sizes

    /// What a record costs in memory, approximately: its strings' bytes (the size it has
    /// on the wire) plus the fixed overhead of the record and of each metadata field.
    package static func approximateBytes(of record: LogRecord) -> Int {
        var bytes =
            160 + record.label.utf8.count + record.message.utf8.count + record.file.utf8.count
            + record.function.utf8.count + record.origin.identifier.utf8.count
        for field in record.metadata { bytes += 48 + field.key.utf8.count + field.value.utf8.count }
        return bytes
    }

    package static func approximateBytes(of records: [LogRecord]) -> Int {
        records.indices.reduce(0) { $0 + approximateBytes(of: records[$1]) }  // by index: no copies
    }

    /// Parses a size such as `256M`, `64MiB`, `1G`, `512k` or a number of bytes (K, M, G
    /// are binary: 1024, 1024², 1024³); nil if it is not one.
    package static func parseSize(_ text: String) -> Int? {
        var digits = Substring(text)
        var unit = 1
        let suffixes: [(String, Int)] = [("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)]
        for suffix in ["IB", "B"] where digits.uppercased().hasSuffix(suffix) && digits.count > suffix.count {
            digits = digits.dropLast(suffix.count)
            break
        }
        if let last = digits.last, let (_, scale) = suffixes.first(where: { $0.0 == last.uppercased() }) {
            unit = scale
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(digits) else {
            return nil
        }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: unit)
        return overflow ? nil : bytes
    }
}

/// What one connection holds of the memory budget, kept by the collector's I/O thread.
struct ConnectionMemory {
    /// Bytes reserved for this connection's unfinished frame (and the chunk being read).
    var reserved = 0
    /// What of `reserved` has not arrived yet (the rest is buffered), as last counted in its
    /// uid's total (`BridgeLoop.promisedByUser`).
    var promised = 0
    /// Waiting for budget: not polled for input until its frame's reservation is granted.
    var paused = false
    /// When the last byte arrived (or the connection was resumed), monotonic nanoseconds.
    var lastProgress = MonotonicClock.now()
    /// When the frame now pending started to arrive (or was resumed), monotonic nanoseconds.
    var pendingSince = MonotonicClock.now()
}
