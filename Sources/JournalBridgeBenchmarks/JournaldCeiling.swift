import CSystemd
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import JournalBridgeCollector
import Logging

/// journald's own ceiling, as `shared/bench/journald_ceiling.c` measures it: one
/// process, a plain `sd_journal_sendv` loop of records shaped like the bridge's.
/// The figure is end to end: until journald has stored every entry.
package enum JournaldCeiling {
    package struct Result: Sendable {
        package var records: Int
        package var stored: Int
        package var sendSeconds: Double
        package var storedSeconds: Double
        package var perSecond: Double { Double(stored) / storedSeconds }
    }

    /// The probe record of `journald_ceiling.c`: six fields.
    package static func measure(records: Int, identifier: String) throws(SystemError) -> Result {
        try timed(records: records, identifier: identifier) { i in
            let fields = [
                "MESSAGE=probe message number \(i) with some payload text", "PRIORITY=\(i % 8)",
                "SYSLOG_IDENTIFIER=\(identifier)",
                "CODE_FILE=x.c", "CODE_LINE=\(i)", "WORKER=w1",
            ]
            return send(fields) >= 0
        }
    }

    /// The same loop with the entries the bridge writes (every field of `JournaldSink`), from one
    /// thread with no collector: what journald itself can take of the bridge's records.
    package static func measureBridgeShaped(
        records: Int, identifier: String, recordSize: Int, metadata: Int
    ) throws(SystemError) -> Result {
        let sink = JournaldSink()
        var origin = Origin.thisProcess
        origin.identifier = identifier
        origin.pid = getppid()  // an other process's pid, as the collector's records have
        let fields = (0..<metadata).map { MetadataField("k\($0)", "value-\($0)") }
        let levels: [Logger.Level] = [.debug, .info, .warning, .error, .critical]
        let padding = String(repeating: "x", count: max(0, recordSize - 32))
        return try timed(records: records, identifier: identifier) { i in
            let record = LogRecord(
                level: levels[i % levels.count], label: "bench.ceiling",
                message: "bench ceiling record \(i) \(padding)",
                file: "journal_bridge/BenchWorker.swift", function: "run()", line: 60, metadata: fields,
                sequence: UInt64(i + 1), origin: origin
            )
            let failedBefore = sink.failedCount
            sink.write([record])
            return sink.failedCount == failedBefore
        }
    }

    /// The same loop with the records the syslog input makes of `bench --syslog`'s messages
    /// (scripts/peers/syslog-flood.c's `<14>Nov 28 12:00:00 benchhost TAG[pid]: ...`, parsed
    /// and mapped as the input does): 13 fields each, where the plain loop sends 6, so this is
    /// what journald can take of the entries a syslog input must send, with no input at all.
    /// The entries' identifier is `identifier` (the message's tag).
    package static func measureSyslogShaped(
        records: Int, identifier: String, recordSize: Int
    ) throws(SystemError) -> Result {
        let sink = JournaldSink()
        var origin = Origin(pid: getppid(), uid: getuid(), gid: getgid(), identifier: "unknown")
        // As the datagram input names its sender: the facts read once (PeerIdentityCache).
        origin.identity = PeerIdentity.capture(pid: origin.pid, uid: origin.uid, gid: origin.gid)
        let counters = SyslogCounters()
        let head = "<14>Nov 28 12:00:00 benchhost \(identifier)[\(getpid())]: s0 seq:"
        return try timed(records: records, identifier: identifier) { i in
            var message = Array((head + "\(i) ").utf8)
            message += [UInt8](repeating: UInt8(ascii: "x"), count: max(0, recordSize - message.count))
            let record = message.withUnsafeBytes {
                SyslogRecords.record(
                    $0, origin: origin, peer: nil, droppedBytes: 0, receivedMicros: LogRecord.now(), counters: counters)
            }
            let failedBefore = sink.failedCount
            sink.write([record])
            return sink.failedCount == failedBefore
        }
    }

    private static func timed(records: Int, identifier: String, send: (Int) -> Bool) throws(SystemError) -> Result {
        let counter = try JournalCounter(identifier: identifier)
        let start = MonotonicClock.now()
        var failures = 0
        for i in 0..<records where !send(i) { failures += 1 }
        let sent = MonotonicClock.now()
        let (stored, at) = counter.wait(for: records - failures)
        return Result(
            records: records, stored: stored, sendSeconds: Double(sent - start) / 1e9,
            storedSeconds: Double(max(at, start) - start) / 1e9
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
