import CSystemd
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// journald's own ceiling, as `shared/bench/journald_ceiling.c` measures it: one
/// process, a plain `sd_journal_sendv` loop of records shaped like the bridge's.
/// The figure is end to end: until journald has stored every entry.
public enum JournaldCeiling {
    public struct Result: Sendable {
        public var records: Int
        public var stored: Int
        public var sendSeconds: Double
        public var storedSeconds: Double
        public var perSecond: Double { Double(stored) / storedSeconds }
    }

    public static func measure(records: Int, identifier: String) throws(SystemError) -> Result {
        let counter = try JournalCounter(identifier: identifier)
        let start = MonotonicClock.now()
        var failures = 0
        for i in 0..<records {
            let fields = [
                "MESSAGE=probe message number \(i) with some payload text", "PRIORITY=\(i % 8)", "SYSLOG_IDENTIFIER=\(identifier)",
                "CODE_FILE=x.c", "CODE_LINE=\(i)", "WORKER=w1",
            ]
            if send(fields) < 0 { failures += 1 }
        }
        let sent = MonotonicClock.now()
        let (stored, at) = counter.wait(for: records - failures)
        return Result(
            records: records, stored: stored, sendSeconds: Double(sent - start) / 1e9, storedSeconds: Double(at - start) / 1e9
        )
    }

    private static func send(_ fields: [String]) -> Int32 {
        var storage = fields.map { Array($0.utf8) }
        var iovecs: [iovec] = []
        iovecs.reserveCapacity(storage.count)
        return storage.withUnsafeMutableBufferPointer { buffers in
            for index in buffers.indices {
                buffers[index].withUnsafeMutableBytes { raw in
                    iovecs.append(iovec(iov_base: raw.baseAddress, iov_len: raw.count))
                }
            }
            return iovecs.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }
}
