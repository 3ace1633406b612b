#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Logging

/// One record as an RFC 5424 syslog message, the bridge's fields as STRUCTURED-DATA.
///
/// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - [jb@32473 ...][jbmeta@32473 ...] BOM MSG`
///
/// - PRI: facility `user` (1), severity from the level (`Logger.Level.syslogPriority`).
/// - TIMESTAMP: the record's time, UTC, microseconds (`2026-11-28T08:12:32.123456Z`).
/// - APP-NAME: the identifier cut to 48 printable ASCII characters (others become `_`);
///   PROCID: the sender's pid. The identifier as sent is in the SD element.
/// - `jb@32473` holds the fields under the names journald gets (`SYSLOG_IDENTIFIER`,
///   `JB_UID`, `JB_GID`, `LOGGER_LEVEL` (`TRACE`) for trace only, `LOGGER_LABEL`, `CODE_FILE`,
///   `CODE_LINE`, `CODE_FUNC`, `JB_SESSION`, `JB_SEQ`), so one vocabulary serves `journalctl`
///   and the central receiver; the header carries the rest once: PRI's severity is
///   `PRIORITY`, PROCID `SYSLOG_PID`, TIMESTAMP `JB_TIMESTAMP` (the same microseconds; for a
///   time outside the years 0000 to 9999, `JB_TIMESTAMP` is in the SD too).
/// - `jbmeta@32473` holds the metadata, one PARAM per key. A key that is not a PARAM-NAME
///   (1-32 printable ASCII characters without `=`, space, `]`, `"`) or that starts with `_`
///   is sent as two PARAMs, `_N.k` (the key) and `_N.v` (the value), N its position: every
///   key stays recoverable.
/// - PARAM-VALUEs escape `"`, `\` and `]` with a backslash (RFC 5424, 6.3.3); text that
///   was not valid UTF-8 is sent in its repaired form (U+FFFD), as the RFC wants UTF-8 there.
/// - MSG: a UTF-8 message starts with the byte order mark (RFC 5424, 6.4); a message that
///   was not valid UTF-8 goes as its bytes, without the mark.
///
/// 32473 is the private enterprise number RFC 5612 reserves for documentation: a
/// placeholder until the project registers its own. Receivers treat it like any other.
package struct SyslogFormatter: Sendable {
    /// The SD-ID of the bridge's own fields.
    package static let fieldsID = "jb@32473"
    /// The SD-ID of the metadata.
    package static let metadataID = "jbmeta@32473"
    /// RFC 5424's facility for user-level messages.
    package static let userFacility = 1

    private let hostname: [UInt8]

    package init(hostname: String = SyslogFormatter.localHostname()) {
        self.hostname = Self.header(hostname, limit: 255)
    }

    /// This machine's name, as RFC 5424's HOSTNAME field takes it.
    package static func localHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        // On failure the name stays empty and the field says "-" (NILVALUE).
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The message, without framing.
    package func format(_ record: LogRecord) -> [UInt8] { format([record]).bytes }

    /// The records' messages, back to back in one block. Written straight into memory
    /// reserved for the batch (checked at every write), then copied once into the block's
    /// array: no array grown byte by byte, one allocation for the batch, and the date and
    /// time computed once per second of records.
    package func format(_ records: [LogRecord]) -> ForwardBuffer.Block {
        var block = ForwardBuffer.Block()
        guard !records.isEmpty else { return block }
        block.ends.reserveCapacity(records.count)
        var storage = Storage(capacity: records.count * 512)
        defer { storage.deallocate() }
        var scratch = Scratch()
        // Each record through a pointer: `records[index]` would copy it (a retain and a
        // release of each of its strings) for the calls below.
        records.withUnsafeBufferPointer { records in
            for index in records.indices {
                let record = records.baseAddress! + index
                // First as if nothing needs escaping (the usual case), then with more room.
                var room = Self.roomWithoutEscapes(record) + hostname.count
                while true {
                    storage.reserve(room)
                    var writer = Writer(base: storage.base + storage.count, capacity: storage.capacity - storage.count)
                    write(record, to: &writer, scratch: &scratch)
                    if !writer.overflowed {
                        storage.count += writer.count
                        break
                    }
                    room *= 2
                }
                block.ends.append(storage.count)
            }
        }
        block.bytes = Array(UnsafeBufferPointer(start: storage.base, count: storage.count))
        return block
    }

    /// What one batch keeps from record to record: the date and time of the last second
    /// formatted (`YYYY-MM-DDTHH:MM:SS.`) and the last session in hex (a batch holds few of
    /// each), and an array for an APP-NAME that needs changing.
    private struct Scratch {
        var second: Int64 = .min
        var dateAndTime: [UInt8] = []
        var session: UInt64 = 0
        var sessionHex: [UInt8] = []
        var bytes: [UInt8] = []
    }

    /// A batch's memory while it is written, grown by doubling.
    private struct Storage {
        var base: UnsafeMutablePointer<UInt8>
        var capacity: Int
        var count = 0

        init(capacity: Int) {
            self.capacity = max(capacity, 1024)
            base = .allocate(capacity: self.capacity)
        }

        mutating func reserve(_ room: Int) {
            guard capacity - count < room else { return }
            let grown = max(capacity * 2, count + room)
            let new = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
            new.initialize(from: base, count: count)
            base.deallocate()
            base = new
            capacity = grown
        }

        func deallocate() { base.deallocate() }
    }

    /// Writes into memory reserved for it. A write that does not fit sets `overflowed`
    /// and writes nothing; the caller reserves more and writes the record again.
    private struct Writer {
        let base: UnsafeMutablePointer<UInt8>
        let capacity: Int
        var count = 0
        var overflowed = false

        @inline(__always)
        mutating func byte(_ value: UInt8) {
            guard count < capacity else {
                overflowed = true
                return
            }
            base[count] = value
            count += 1
        }

        @inline(__always)
        mutating func bytes(_ source: UnsafeBufferPointer<UInt8>) {
            guard source.count <= capacity - count else {
                overflowed = true
                return
            }
            if let from = source.baseAddress { (base + count).initialize(from: from, count: source.count) }
            count += source.count
        }

        @inline(__always)
        mutating func text(_ value: StaticString) { value.withUTF8Buffer { bytes($0) } }

        mutating func text(_ value: String) {
            if value.utf8.withContiguousStorageIfAvailable({ bytes($0) }) == nil {
                for byte in value.utf8 { self.byte(byte) }
            }
        }

        mutating func decimal(_ value: Int64) {
            if value < 0 { byte(UInt8(ascii: "-")) }
            decimal(value.magnitude)
        }

        mutating func decimal(_ value: UInt64) {
            DecimalDigits.withDigits(value) { digits in
                guard digits.count <= capacity - count else {
                    overflowed = true
                    return
                }
                UnsafeMutableRawPointer(base + count).copyMemory(from: digits.baseAddress!, byteCount: digits.count)
                count += digits.count
            }
        }

        /// PARAM-VALUE: `"`, `\\` and `]` escaped with a backslash; everything else as it is.
        mutating func paramValue(_ value: String) {
            let done: Void? = value.utf8.withContiguousStorageIfAvailable { utf8 in
                guard let base = utf8.baseAddress else { return }
                if utf8.count < 8 {
                    // A short value (a level, a label) in one word, zeros after it: one test.
                    var word: UInt64 = 0
                    withUnsafeMutableBytes(of: &word) { $0.baseAddress!.copyMemory(from: base, byteCount: utf8.count) }
                    if !withUnsafeBytes(of: word, { SyslogFormatter.hasByteToEscape(ByteWord($0.baseAddress!)) }) {
                        bytes(utf8)
                        return
                    }
                }
                var start = 0
                var index = 0
                while index < utf8.count {
                    // Eight bytes at a time while none of them needs escaping: most values need none.
                    if index + 8 <= utf8.count,
                        !SyslogFormatter.hasByteToEscape(ByteWord(base + index))
                    {
                        index += 8
                        continue
                    }
                    let byte = base[index]
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "]") {
                        bytes(UnsafeBufferPointer(start: base + start, count: index - start))
                        self.byte(UInt8(ascii: "\\"))
                        start = index
                    }
                    index += 1
                }
                bytes(UnsafeBufferPointer(start: base + start, count: utf8.count - start))
            }
            if done == nil {
                for byte in value.utf8 {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "]") {
                        self.byte(UInt8(ascii: "\\"))
                    }
                    self.byte(byte)
                }
            }
        }
    }

    /// A record's message size if no PARAM-VALUE needs escaping, numbers at their longest;
    /// without the hostname.
    private static func roomWithoutEscapes(_ record: UnsafePointer<LogRecord>) -> Int {
        // Header, the names of the fields, their quotes, numbers of 20 digits, the SD-IDs, the BOM.
        var room = 512 + record.pointee.origin.identifier.utf8.count + record.pointee.label.utf8.count
        room +=
            record.pointee.level.rawValue.utf8.count + record.pointee.file.utf8.count
            + record.pointee.function.utf8.count
        // Stored properties only: a computed one of another module takes a copy of the record.
        room += record.pointee.messageBytes?.count ?? record.pointee.message.utf8.count
        for index in record.pointee.metadata.indices {
            // ` _N.k="` and ` _N.v="` for a key that is not a PARAM-NAME.
            room += 48 + record.pointee.metadata[index].key.utf8.count + record.pointee.metadata[index].value.utf8.count
        }
        return room
    }

    private func write(_ record: UnsafePointer<LogRecord>, to out: inout Writer, scratch: inout Scratch) {
        out.byte(UInt8(ascii: "<"))
        out.decimal(UInt64(Self.userFacility * 8 + record.pointee.level.syslogPriority))
        out.text(">1 ")
        let timestampWritable = Self.writableMicros.contains(record.pointee.timestampMicros)
        if timestampWritable {
            Self.writeTimestamp(micros: record.pointee.timestampMicros, to: &out, scratch: &scratch)
        } else {
            out.byte(UInt8(ascii: "-"))  // NILVALUE: the time goes as JB_TIMESTAMP
        }
        out.byte(UInt8(ascii: " "))
        hostname.withUnsafeBufferPointer { out.bytes($0) }
        out.byte(UInt8(ascii: " "))
        Self.writeHeader(record.pointee.origin.identifier, limit: 48, to: &out, scratch: &scratch)
        out.byte(UInt8(ascii: " "))
        out.decimal(Int64(record.pointee.origin.pid))
        out.text(" - [")
        out.text(Self.fieldsID)
        // `opening` is ` NAME="`, whole: one write per field for the name.
        func param(_ opening: StaticString, _ value: String) {
            out.text(opening)
            out.paramValue(value)
            out.byte(UInt8(ascii: "\""))
        }
        // Numbers are written as digits straight into the message: no String per field.
        func param(_ opening: StaticString, _ value: Int64) {
            out.text(opening)
            out.decimal(value)
            out.byte(UInt8(ascii: "\""))
        }
        // Not sent twice: SYSLOG_PID is PROCID, PRIORITY is PRI's severity, JB_TIMESTAMP is
        // TIMESTAMP (the same microseconds, for the years 0000 to 9999 that RFC 3339 can write),
        // and LOGGER_LEVEL only tells trace from debug (both 7), as in journald.
        // SYSLOG_IDENTIFIER stays: APP-NAME may be a cut, cleaned copy.
        param(" SYSLOG_IDENTIFIER=\"", record.pointee.origin.identifier)
        param(" JB_UID=\"", Int64(record.pointee.origin.uid))
        param(" JB_GID=\"", Int64(record.pointee.origin.gid))
        if record.pointee.level == .trace { param(" LOGGER_LEVEL=\"", record.pointee.level.displayName) }
        param(" LOGGER_LABEL=\"", record.pointee.label)
        if !record.pointee.file.isEmpty {
            param(" CODE_FILE=\"", record.pointee.file)
            param(" CODE_LINE=\"", Int64(record.pointee.line))
        }
        if !record.pointee.function.isEmpty { param(" CODE_FUNC=\"", record.pointee.function) }
        if record.pointee.origin.session != 0 {
            out.text(" JB_SESSION=\"")
            if scratch.session != record.pointee.origin.session || scratch.sessionHex.isEmpty {
                scratch.session = record.pointee.origin.session
                scratch.sessionHex.removeAll(keepingCapacity: true)
                Hex.appendSession(scratch.session, to: &scratch.sessionHex)
            }
            scratch.sessionHex.withUnsafeBufferPointer { out.bytes($0) }
            out.byte(UInt8(ascii: "\""))
        }
        if record.pointee.sequence != 0 {
            out.text(" JB_SEQ=\"")
            out.decimal(record.pointee.sequence)
            out.byte(UInt8(ascii: "\""))
        }
        if !timestampWritable {
            param(" JB_TIMESTAMP=\"", record.pointee.timestampMicros)
        }
        out.byte(UInt8(ascii: "]"))
        if !record.pointee.metadata.isEmpty {
            out.byte(UInt8(ascii: "["))
            out.text(Self.metadataID)
            for index in record.pointee.metadata.indices {
                let key = record.pointee.metadata[index].key
                // A PARAM-NAME is ASCII: its first byte is its first character.
                if Self.isParamName(key) && key.utf8.first != UInt8(ascii: "_") {
                    out.byte(UInt8(ascii: " "))
                    out.text(key)
                    out.text("=\"")
                } else {
                    out.text(" _")
                    out.decimal(UInt64(index))
                    out.text(".k=\"")
                    out.paramValue(key)
                    out.text("\" _")
                    out.decimal(UInt64(index))
                    out.text(".v=\"")
                }
                out.paramValue(record.pointee.metadata[index].value)
                out.byte(UInt8(ascii: "\""))
            }
            out.byte(UInt8(ascii: "]"))
        }
        out.byte(UInt8(ascii: " "))
        if let raw = record.pointee.messageBytes {
            raw.withUnsafeBufferPointer { out.bytes($0) }
        } else {
            out.byte(0xEF)
            out.byte(0xBB)
            out.byte(0xBF)
            out.text(record.pointee.message)
        }
    }

    /// The times TIMESTAMP writes as they are: 0000-01-01 to 9999-12-31 UTC. A worker may send
    /// any 64-bit time; outside these years TIMESTAMP is `-` (NILVALUE) and the SD says the
    /// time as `JB_TIMESTAMP`.
    static let writableMicros: ClosedRange<Int64> = -62_167_219_200_000_000...253_402_300_799_999_999

    /// RFC 5424's PARAM-NAME: 1 to 32 of PRINTUSASCII except `=`, space, `]` and `"`.
    package static func isParamName(_ key: String) -> Bool {
        let utf8 = key.utf8
        guard !utf8.isEmpty, utf8.count <= 32 else { return false }
        return utf8.allSatisfy {
            $0 >= 33 && $0 <= 126 && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "]") && $0 != UInt8(ascii: "\"")
        }
    }

    /// Whether any of the eight bytes is `"`, `\` or `]`.
    static func hasByteToEscape(_ word: ByteWord) -> Bool {
        word.contains(UInt8(ascii: "\"")) || word.contains(UInt8(ascii: "\\")) || word.contains(UInt8(ascii: "]"))
    }

    /// A header field (HOSTNAME, APP-NAME): printable ASCII only (others become `_`), at most
    /// `limit` characters, `-` (NILVALUE) when empty.
    static func header(_ text: String, limit: Int) -> [UInt8] {
        let utf8 = text.utf8
        if !utf8.isEmpty && utf8.count <= limit && utf8.allSatisfy({ $0 >= 33 && $0 <= 126 }) { return Array(utf8) }
        let bytes = text.utf8.prefix(limit).map { $0 >= 33 && $0 <= 126 ? $0 : UInt8(ascii: "_") }
        return bytes.isEmpty ? [UInt8(ascii: "-")] : bytes
    }

    /// `header` written, without an array on the way when the text needs no change.
    private static func writeHeader(_ text: String, limit: Int, to out: inout Writer, scratch: inout Scratch) {
        let clean =
            text.utf8.withContiguousStorageIfAvailable { utf8 in
                guard !utf8.isEmpty, utf8.count <= limit, utf8.allSatisfy({ $0 >= 33 && $0 <= 126 }) else {
                    return false
                }
                out.bytes(utf8)
                return true
            } ?? false
        if !clean {
            scratch.bytes = header(text, limit: limit)
            scratch.bytes.withUnsafeBufferPointer { out.bytes($0) }
        }
    }

    /// RFC 3339 in UTC with microseconds, as RFC 5424's TIMESTAMP allows (at most 6 digits).
    /// The date and time are computed once per second (`scratch`), the microseconds each time.
    private static func writeTimestamp(micros: Int64, to out: inout Writer, scratch: inout Scratch) {
        let (second, fraction) = TimestampFormatter.split(micros: micros)
        if second != scratch.second {
            scratch.second = second
            scratch.dateAndTime = dateAndTime(second: second)
        }
        scratch.dateAndTime.withUnsafeBufferPointer { out.bytes($0) }
        // Constant divisors: the compiler makes them multiplications.
        out.byte(UInt8(48 + fraction / 100_000))
        out.byte(UInt8(48 + fraction / 10_000 % 10))
        out.byte(UInt8(48 + fraction / 1000 % 10))
        out.byte(UInt8(48 + fraction / 100 % 10))
        out.byte(UInt8(48 + fraction / 10 % 10))
        out.byte(UInt8(48 + fraction % 10))
        out.byte(UInt8(ascii: "Z"))
    }

    /// `YYYY-MM-DDTHH:MM:SS.` of a second since the epoch, UTC.
    private static func dateAndTime(second: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(20)
        var t = time_t(second)
        var parts = tm()
        gmtime_r(&t, &parts)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(48 + value / divisor % 10))
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        out.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        out.append(UInt8(ascii: "."))
        return out
    }
}
