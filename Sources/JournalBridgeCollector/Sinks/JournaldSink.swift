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
    package static let socketPath = "/run/systemd/journal/socket"

    private struct State {
        var fields: [UInt8] = []
        var ends: [Int] = []
        var iovecs: [iovec] = []
        /// Per record: the metadata index of each metadata field in `ends`, and the indices packed.
        var placed: [Int] = []
        var packed: [Int] = []
        var failure = FailureReport(sink: "journald")
        /// Cache of metadata key -> journald name: keys repeat from record to record.
        var names: [String: String?] = [:]
        /// Records waiting for journald to come back, oldest first.
        var backlog: [LogRecord] = []
        var backlogHead = 0
        /// Records dropped from a full backlog since journald went away.
        var lostWhileAway = 0
        /// The last `sendv` waited for room in journald's queue (see `deliver`).
        var waitedForRoom = false
    }

    /// `journald`.
    public let name = "journald"
    /// When the collector runs as root, journald keeps the `OBJECT_*` fields it sends about a
    /// worker (its unit, comm, exe, ...: `Origin.identity`), and `journalctl -u <worker's unit>`
    /// finds the entry; without an identity, `OBJECT_PID` asks journald to look them up.
    private let attributeObjectPID: Bool
    private let ownPID = getpid()
    private let state = ConditionLock(State())
    private let failed = Atomic<Int>(0)
    private let packed = Atomic<Int>(0)
    /// Of `failed`, the records dropped from a full backlog (or left in it at close).
    private let overflowed = Atomic<Int>(0)
    private let lastFailureReason = ConditionLock<String?>(nil)
    private let sendv: SendV

    /// `sd_journal_sendv`'s shape; tests put a refusing one in its place.
    package typealias SendV = @Sendable (UnsafePointer<iovec>?, Int32) -> Int32

    /// At most this many iovecs an entry: libsystemd hands the entry's iovecs to one
    /// `sendmsg` (or `writev` into a memfd), and the kernel refuses more than `UIO_MAXIOV`
    /// (1,024) with EINVAL. libsystemd spends 2 on a field, 5 on a field whose value holds a
    /// newline (name, newline, 64-bit length, value, newline). Measured on systemd 252: 512
    /// plain fields are stored, 513 fail with EINVAL. journald's own limits are further
    /// away (1,024 fields, 768 MiB a field, 770 MiB an entry: `ENTRY_FIELD_COUNT_MAX`,
    /// `DATA_SIZE_MAX`, `ENTRY_SIZE_MAX`), and the wire protocol keeps a record far below them.
    static let iovecBudget = 1024
    /// journald's `ENTRY_SIZE_MAX` (770 MiB) less room for the fields journald adds itself.
    static let maximumEntryBytes = 768 * 1024 * 1024

    /// Records kept while journald is away; past this the oldest are dropped, counted, and
    /// reported to journald by a record of its own when it is back.
    package let backlogCapacity: Int

    /// The default of `backlogCapacity`.
    public static let defaultBacklogCapacity = 100_000

    /// Whether the worker's `OBJECT_*` fields are sent unless configured: journald honours them
    /// only from root, so only as root. The one home of that rule.
    public static var attributesObjectPIDByDefault: Bool { geteuid() == 0 }

    /// A send that took longer waited for room in journald's queue (journald takes some 25 µs
    /// an entry; a send that finds room takes a few).
    static let fullQueueWait: UInt64 = 50_000
    /// How long journald is left to drain its full queue before the next send (see `deliver`):
    /// 0.5 ms, a twentieth of systemd's 512 datagrams; none where the queues hold fewer than 128
    /// (the kernel's default is 10, without systemd as PID 1), which journald would empty in
    /// a fraction of the pause and then wait.
    static let drainPause: useconds_t = (datagramQueueLength() ?? 0) >= 128 ? 500 : 0

    /// `net.unix.max_dgram_qlen`: how many datagrams a Unix socket made now may queue (a socket
    /// keeps the value it was made with); nil when it cannot be read.
    package static func datagramQueueLength() -> Int? {
        guard let text = try? readFile("/proc/sys/net/unix/max_dgram_qlen", limit: 32) else { return nil }
        return String(decoding: text, as: UTF8.self).split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) }
    }

    /// The real `sd_journal_sendv`.
    package static let systemSendV: SendV = { sd_journal_sendv($0, $1) }

    /// A sink that sends `OBJECT_PID` when `attributeObjectPID` (journald honours it from root) and keeps up to `backlogCapacity` records while journald is away.
    public convenience init(
        attributeObjectPID: Bool = JournaldSink.attributesObjectPIDByDefault,
        backlogCapacity: Int = JournaldSink.defaultBacklogCapacity
    ) {
        self.init(attributeObjectPID: attributeObjectPID, backlogCapacity: backlogCapacity, sendv: Self.systemSendV)
    }

    package init(attributeObjectPID: Bool, backlogCapacity: Int, sendv: @escaping SendV) {
        self.attributeObjectPID = attributeObjectPID
        self.backlogCapacity = max(0, backlogCapacity)
        self.sendv = sendv
    }

    /// Records journald did not take (absent, refused), dropped from a full backlog included.
    public var failedCount: Int { failed.load(ordering: .relaxed) }

    /// Records whose metadata did not all fit as fields and went (partly) into `JB_METADATA`.
    public var packedCount: Int { packed.load(ordering: .relaxed) }

    /// Why the last record failed.
    public var lastFailure: String? { lastFailureReason.withLock { $0 } }

    package static var isAvailable: Bool { access(socketPath, F_OK) == 0 }

    /// Sends each record as one journal entry; while journald is away, keeps them in the backlog.
    public func write(_ records: [LogRecord]) {
        state.withLock { state in
            guard Self.isAvailable, drainBacklog(&state) else { return hold(records, &state) }
            for index in records.indices where !deliver(records[index], &state) {
                return hold(Array(records[index...]), &state)
            }
        }
    }

    /// Retries the backlog when journald is back and no new record came to trigger it.
    public func idle() {
        state.withLock { state in
            if state.backlogHead < state.backlog.count || state.lostWhileAway > 0, Self.isAvailable {
                _ = drainBacklog(&state)
            }
        }
    }

    /// What is still waiting for journald at close is lost: count it, so it is reported.
    public func close() {
        state.withLock { state in
            let waiting = state.backlog.count - state.backlogHead
            if waiting > 0 {
                overflowed.add(waiting, ordering: .relaxed)
                failed.add(waiting, ordering: .relaxed)
                noteFailure("closing with \(waiting) records never sent to journald")
                state.failure.failed("closing with \(waiting) records never sent to journald", records: waiting)
            }
            state.backlog.removeAll()
            state.backlogHead = 0
            state.failure.finish()
        }
    }

    /// Sends one record; false when journald is away (its socket is there but nobody reads it:
    /// journald stopped or killed outside systemd's socket activation), so the caller keeps it.
    private func deliver(_ record: LogRecord, _ state: inout State) -> Bool {
        let result = send(record, &state)
        if state.waitedForRoom && Self.drainPause > 0 {
            // journald's queue was full: the send waited for it to take one entry. Sending the
            // next at once would wait again, and so on, a wake-up for journald and two context
            // switches for this thread per entry, which on a busy machine cost journald a tenth
            // of its rate. Paused, journald drains a few dozen entries (its queue holds 512 under
            // systemd, 11 ms of work) that then go in one go. The bench measured 41,400 -> 44,400
            // syslog records/s into journald (`bench --syslog unix`, 4 rounds each, all won).
            usleep(Self.drainPause)
        }
        if result == -ECONNREFUSED { return false }
        if result < 0 {
            // Nothing else is worth a retry: EINVAL, EMSGSIZE, EFBIG come again for the same entry.
            failed.add(1, ordering: .relaxed)
            let reason = "\(SystemError(call: "sd_journal_sendv", errno: -result))"
            noteFailure(reason)
            state.failure.failed(reason, records: 1)
        } else {
            state.failure.recovered()
        }
        return true
    }

    /// journald is away: keep the records (bounded), drop the oldest past the bound.
    private func hold(_ records: [LogRecord], _ state: inout State) {
        state.backlog.append(contentsOf: records)
        let excess = max(0, state.backlog.count - state.backlogHead - backlogCapacity)
        state.failure.failed(
            "journald is not running (\(Self.socketPath) missing or refusing); keeping up to \(backlogCapacity) records until it is back",
            records: excess
        )
        if excess > 0 {
            state.backlogHead += excess
            state.lostWhileAway += excess
            overflowed.add(excess, ordering: .relaxed)
            failed.add(excess, ordering: .relaxed)
            noteFailure("journald away, backlog of \(backlogCapacity) full")
        }
        if state.backlogHead > 65536 && state.backlogHead * 2 > state.backlog.count {
            state.backlog.removeSubrange(..<state.backlogHead)
            state.backlogHead = 0
        }
    }

    /// Sends what journald missed, in order; false if it went away again (the rest is kept).
    private func drainBacklog(_ state: inout State) -> Bool {
        guard state.backlogHead < state.backlog.count || state.lostWhileAway > 0 else { return true }
        if state.lostWhileAway > 0 {
            // Said first, so that a reader of the journal sees the gap before what follows it.
            let said = deliver(
                CollectorIdentity.record(
                    .warning,
                    "\(state.lostWhileAway) records were lost for journald while it was away (backlog of \(backlogCapacity) full); the files have them",
                    metadata: [MetadataField("lost", String(state.lostWhileAway))]
                ), &state
            )
            guard said else { return false }
            state.lostWhileAway = 0
        }
        while state.backlogHead < state.backlog.count {
            guard deliver(state.backlog[state.backlogHead], &state) else { return false }
            state.backlogHead += 1
        }
        state.backlog.removeAll(keepingCapacity: false)
        state.backlogHead = 0
        return true
    }

    private func noteFailure(_ reason: String) { lastFailureReason.withLock { $0 = reason } }

    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        DecimalDigits.withDigits(value.magnitude) { out.append(contentsOf: $0) }
    }

    private func send(_ record: LogRecord, _ state: inout State) -> Int32 {
        state.waitedForRoom = false
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
        if record.syslogFields.isEmpty {
            field("PRIORITY", Int64(record.level.syslogPriority))
            field("SYSLOG_IDENTIFIER", record.origin.identifier)
            field("SYSLOG_PID", Int64(record.origin.pid))
        } else {
            // A syslog message: its claims as sent (names valid by construction, checked all
            // the same); the kernel's pid, when there is one, is ours to state.
            for item in record.syslogFields where FieldName.isValid(item.key) {
                state.fields.append(contentsOf: item.key.utf8)
                state.fields.append(UInt8(ascii: "="))
                item.appendValue(to: &state.fields)
                state.ends.append(state.fields.count)
            }
            if record.origin.pid > 0 { field("JB_PID", Int64(record.origin.pid)) }
            // No APP-NAME or tag: the input's identifier, as the files show it. Left out,
            // libsystemd put its own, the collector's: any sender then wrote under
            // `journalctl -t journal-bridge`, and its 3 iovecs past the budget made the kernel
            // refuse an entry with many parameters (EINVAL: the whole entry lost).
            if !record.syslogFields.contains(where: { $0.key == "SYSLOG_IDENTIFIER" }) {
                field("SYSLOG_IDENTIFIER", record.origin.identifier)
            }
        }
        if attributeObjectPID && record.origin.pid != ownPID && record.origin.pid > 0 {
            if let identity = record.origin.identity {
                // What the collector read at connect time, while the worker was alive. No
                // OBJECT_PID: journald would read /proc/<pid> again now, too late for a worker
                // that has exited (or wrongly, for whoever reused its pid).
                for (name, value) in identity.journaldFields { field(name, value) }
            } else {
                field("OBJECT_PID", Int64(record.origin.pid))
            }
        }
        field("JB_UID", Int64(record.origin.uid))
        field("JB_GID", Int64(record.origin.gid))
        field("JB_TIMESTAMP", record.timestampMicros)
        if record.sequence != 0 {
            if let small = Int64(exactly: record.sequence) {
                field("JB_SEQ", small)
            } else {
                field("JB_SEQ", String(record.sequence))
            }
        }
        if record.origin.session != 0 {
            ("JB_SESSION=" as StaticString).withUTF8Buffer { state.fields.append(contentsOf: $0) }
            Hex.appendSession(record.origin.session, to: &state.fields)
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
        let firstMetadataField = state.ends.count
        state.placed.removeAll(keepingCapacity: true)
        state.packed.removeAll(keepingCapacity: true)
        for (index, item) in record.metadata.enumerated() {
            let mapped: String?
            if item.key == HealthEvent.messageIDKey && record.origin.session == 0 && record.origin.pid == ownPID {
                // The collector's own health record (no client has session 0 or this pid).
                mapped = "MESSAGE_ID"
            } else if let cached = state.names[item.key] {
                mapped = cached
            } else {
                mapped = FieldName.journaldName(forMetadataKey: item.key)
                if state.names.count < 4096 { state.names[item.key] = mapped }
            }
            // A key with no journald name (empty, only punctuation, non-ASCII) is packed, not dropped.
            guard let mapped else {
                state.packed.append(index)
                continue
            }
            state.fields.append(contentsOf: mapped.utf8)
            state.fields.append(UInt8(ascii: "="))
            item.appendValue(to: &state.fields)  // the bytes as received, invalid UTF-8 included
            state.ends.append(state.fields.count)
            state.placed.append(index)
        }
        if packIntoBudget(record, firstMetadataField: firstMetadataField, &state) { packed.add(1, ordering: .relaxed) }
        // journald drops a larger entry without a word (sd_journal_sendv returns 0): refuse it
        // here, so that it is counted. Out of reach of the wire limits (8 MiB a frame).
        if state.fields.count > Self.maximumEntryBytes { return -EFBIG }
        return state.fields.withUnsafeMutableBytes { raw -> Int32 in
            state.iovecs.removeAll(keepingCapacity: true)
            var start = 0
            for end in state.ends {
                state.iovecs.append(iovec(iov_base: raw.baseAddress! + start, iov_len: end - start))
                start = end
            }
            // Only the call is timed: building the entry, however large, says nothing of journald's queue.
            let started = MonotonicClock.now()
            let result = state.iovecs.withUnsafeBufferPointer { sendv($0.baseAddress, Int32($0.count)) }
            state.waitedForRoom = MonotonicClock.now() &- started > Self.fullQueueWait
            return result
        }
    }

    /// Keeps the entry within `iovecBudget`: the bridge's own fields and as many metadata fields
    /// as fit stay fields; the metadata after them, and the keys with no journald name, go into
    /// one `JB_METADATA` field (`PackedMetadata`). Every field of the entry must be in
    /// `state.fields` by now, the message included: its cost is counted from there.
    /// Returns whether it packed anything.
    private func packIntoBudget(_ record: LogRecord, firstMetadataField: Int, _ state: inout State) -> Bool {
        // Fewer fields than this fit even if every value holds a newline (5 iovecs each).
        if state.packed.isEmpty && state.ends.count <= Self.iovecBudget / 5 { return false }
        let packedFieldCost = 2  // JSON escapes newlines: text framing
        var keep = state.ends.count
        state.fields.withUnsafeBytes { raw in
            var used = 0
            var start = 0
            var fitsWithPackedField = state.ends.count
            for (index, end) in state.ends.enumerated() {
                used += memchr(raw.baseAddress! + start, Int32(UInt8(ascii: "\n")), end - start) == nil ? 2 : 5
                start = end
                if used + packedFieldCost > Self.iovecBudget && fitsWithPackedField == state.ends.count {
                    fitsWithPackedField = max(index, firstMetadataField)
                }
            }
            if used > Self.iovecBudget || !state.packed.isEmpty { keep = fitsWithPackedField }
        }
        guard keep < state.ends.count || !state.packed.isEmpty else { return false }
        if keep < state.ends.count {
            state.packed.append(contentsOf: state.placed[(keep - firstMetadataField)...])
            state.packed.sort()
            state.fields.removeSubrange((keep == 0 ? 0 : state.ends[keep - 1])...)
            state.ends.removeSubrange(keep...)
        }
        PackedMetadata.fieldName.withUTF8Buffer { state.fields.append(contentsOf: $0) }
        state.fields.append(UInt8(ascii: "="))
        PackedMetadata.appendJSON(state.packed.lazy.map { record.metadata[$0] }, to: &state.fields)
        state.ends.append(state.fields.count)
        return true
    }
}

extension JournaldSink: AccountedSink {
    package var backlogDropCount: Int { overflowed.load(ordering: .relaxed) }
    package var heldCount: Int { state.withLock { $0.backlog.count - $0.backlogHead } }
}
