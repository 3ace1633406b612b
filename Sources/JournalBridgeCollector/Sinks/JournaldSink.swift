import CSystemd
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Synchronization

/// Forwards each record to systemd-journald with one `sd_journal_sendv` call,
/// every value as its own iovec so multi-line, NUL-bearing and large values
/// arrive intact (libsystemd switches to its binary-safe encoding and, past a
/// datagram's size, to a memfd).
public final class JournaldSink: LogSink {
    /// Where journald listens. `sd_journal_sendv` returns 0 and drops the entry when
    /// this is missing, so the sink checks it itself.
    public static let socketPath = "/run/systemd/journal/socket"

    private struct State {
        var fields: [UInt8] = []
        var ends: [Int] = []
        var iovecs: [iovec] = []
        var failure = FailureReport(sink: "journald")
        /// Cache of metadata key -> journald name: keys repeat from record to record.
        var names: [String: String?] = [:]
        /// Records waiting for journald to come back, oldest first.
        var backlog: [LogRecord] = []
        var backlogHead = 0
        /// Records dropped from a full backlog since journald went away.
        var lostWhileAway = 0
    }

    public let name = "journald"
    /// When the collector runs as root, `OBJECT_PID` makes journald attach the
    /// worker's `OBJECT_COMM`, `OBJECT_EXE`, ... to the entry.
    private let attributeObjectPID: Bool
    private let ownPID = getpid()
    private let state = ConditionLock(State())
    private let failed = Atomic<Int>(0)

    /// Records kept while journald is away; past this the oldest are dropped, counted, and
    /// reported to journald by a record of its own when it is back.
    public let backlogCapacity: Int

    public init(attributeObjectPID: Bool = geteuid() == 0, backlogCapacity: Int = 100_000) {
        self.attributeObjectPID = attributeObjectPID
        self.backlogCapacity = max(0, backlogCapacity)
    }

    public var failedCount: Int { failed.load(ordering: .relaxed) }

    public static var isAvailable: Bool { access(socketPath, F_OK) == 0 }

    public func write(_ records: [LogRecord]) {
        state.withLock { state in
            guard Self.isAvailable else { return hold(records, &state) }
            drainBacklog(&state)
            for record in records { deliver(record, &state) }
        }
    }

    /// Retries the backlog when journald is back and no new record came to trigger it.
    public func idle() {
        state.withLock { state in
            if state.backlogHead < state.backlog.count || state.lostWhileAway > 0, Self.isAvailable { drainBacklog(&state) }
        }
    }

    /// What is still waiting for journald at close is lost: count it, so it is reported.
    public func close() {
        state.withLock { state in
            let waiting = state.backlog.count - state.backlogHead
            if waiting > 0 {
                failed.add(waiting, ordering: .relaxed)
                state.failure.failed("closing with \(waiting) records never sent to journald", records: waiting)
            }
            state.backlog.removeAll()
            state.backlogHead = 0
            state.failure.finish()
        }
    }

    private func deliver(_ record: LogRecord, _ state: inout State) {
        let result = send(record, &state)
        if result < 0 {
            failed.add(1, ordering: .relaxed)
            state.failure.failed("sd_journal_sendv: \(SystemError(call: "sd_journal_sendv", errno: -result))", records: 1)
        } else {
            state.failure.recovered()
        }
    }

    /// journald is away: keep the records (bounded), drop the oldest past the bound.
    private func hold(_ records: [LogRecord], _ state: inout State) {
        state.backlog.append(contentsOf: records)
        let excess = max(0, state.backlog.count - state.backlogHead - backlogCapacity)
        state.failure.failed(
            "journald is not running (no \(Self.socketPath)); keeping up to \(backlogCapacity) records until it is back", records: excess
        )
        if excess > 0 {
            state.backlogHead += excess
            state.lostWhileAway += excess
            failed.add(excess, ordering: .relaxed)
        }
        if state.backlogHead > 65536 && state.backlogHead * 2 > state.backlog.count {
            state.backlog.removeSubrange(..<state.backlogHead)
            state.backlogHead = 0
        }
    }

    private func drainBacklog(_ state: inout State) {
        guard state.backlogHead < state.backlog.count || state.lostWhileAway > 0 else { return }
        if state.lostWhileAway > 0 {
            // Said first, so that a reader of the journal sees the gap before what follows it.
            deliver(
                LogRecord(
                    level: .warning, label: "journal-bridge.collector",
                    message: "\(state.lostWhileAway) records were lost for journald while it was away (backlog of \(backlogCapacity) full); the files have them",
                    metadata: [MetadataField("lost", String(state.lostWhileAway))],
                    origin: Origin(pid: ownPID, uid: getuid(), gid: getgid(), identifier: "journal-bridge")
                ), &state
            )
            state.lostWhileAway = 0
        }
        while state.backlogHead < state.backlog.count {
            deliver(state.backlog[state.backlogHead], &state)
            state.backlogHead += 1
        }
        state.backlog.removeAll(keepingCapacity: false)
        state.backlogHead = 0
    }

    static func appendHex(_ value: UInt64, to out: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        for shift in stride(from: 60, through: 0, by: -4) { out.append(digits[Int((value >> UInt64(shift)) & 0xF)]) }
    }

    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        var magnitude = value.magnitude
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        withUnsafeMutableBytes(of: &digits) { raw in
            var index = raw.count
            repeat {
                index -= 1
                raw[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            out.append(contentsOf: raw[index...])
        }
    }

    private func send(_ record: LogRecord, _ state: inout State) -> Int32 {
        state.fields.removeAll(keepingCapacity: true)
        state.ends.removeAll(keepingCapacity: true)
        func field(_ name: StaticString, _ value: String) {
            name.withUTF8Buffer { state.fields.append(contentsOf: $0) }
            state.fields.append(UInt8(ascii: "="))
            state.fields.append(contentsOf: value.utf8)
            state.ends.append(state.fields.count)
        }
        // Numbers are written as digits straight into the buffer: no String per field.
        func field(_ name: StaticString, _ value: Int64) {
            name.withUTF8Buffer { state.fields.append(contentsOf: $0) }
            state.fields.append(UInt8(ascii: "="))
            Self.appendDecimal(value, to: &state.fields)
            state.ends.append(state.fields.count)
        }
        if let raw = record.messageBytes {
            // Not valid UTF-8: journald gets the bytes as sent, like logger(1) and systemd-cat do.
            ("MESSAGE=" as StaticString).withUTF8Buffer { state.fields.append(contentsOf: $0) }
            state.fields.append(contentsOf: raw)
            state.ends.append(state.fields.count)
        } else {
            field("MESSAGE", record.message)
        }
        field("PRIORITY", Int64(record.level.syslogPriority))
        field("SYSLOG_IDENTIFIER", record.origin.identifier)
        field("SYSLOG_PID", Int64(record.origin.pid))
        if attributeObjectPID && record.origin.pid != ownPID && record.origin.pid > 0 {
            field("OBJECT_PID", Int64(record.origin.pid))
        }
        field("JB_UID", Int64(record.origin.uid))
        field("JB_GID", Int64(record.origin.gid))
        field("JB_TIMESTAMP", record.timestampMicros)
        if record.sequence != 0 { field("JB_SEQ", Int64(truncatingIfNeeded: record.sequence)) }
        if record.origin.session != 0 {
            ("JB_SESSION=" as StaticString).withUTF8Buffer { state.fields.append(contentsOf: $0) }
            Self.appendHex(record.origin.session, to: &state.fields)
            state.ends.append(state.fields.count)
        }
        field("LOGGER_LABEL", record.label)
        // PRIORITY tells every level apart except trace from debug (both 7).
        if record.level == .trace { field("LOGGER_LEVEL", record.level.displayName) }
        if !record.file.isEmpty {
            field("CODE_FILE", record.file)
            field("CODE_LINE", Int64(record.line))
        }
        if !record.function.isEmpty { field("CODE_FUNC", record.function) }
        for item in record.metadata {
            let mapped: String?
            if let cached = state.names[item.key] {
                mapped = cached
            } else {
                mapped = FieldName.journaldName(forMetadataKey: item.key)
                if state.names.count < 4096 { state.names[item.key] = mapped }
            }
            guard let mapped else { continue }
            state.fields.append(contentsOf: mapped.utf8)
            state.fields.append(UInt8(ascii: "="))
            item.appendValue(to: &state.fields)  // the bytes as received, invalid UTF-8 included
            state.ends.append(state.fields.count)
        }
        return state.fields.withUnsafeMutableBytes { raw -> Int32 in
            state.iovecs.removeAll(keepingCapacity: true)
            var start = 0
            for end in state.ends {
                state.iovecs.append(iovec(iov_base: raw.baseAddress! + start, iov_len: end - start))
                start = end
            }
            return state.iovecs.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }
}
