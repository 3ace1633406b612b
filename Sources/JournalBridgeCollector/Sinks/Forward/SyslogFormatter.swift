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
///   `SYSLOG_PID`, `JB_UID`, `JB_GID`, `PRIORITY`, `LOGGER_LEVEL`, `LOGGER_LABEL`, `CODE_FILE`,
///   `CODE_LINE`, `CODE_FUNC`, `JB_SESSION`, `JB_SEQ`, `JB_TIMESTAMP`), so one vocabulary
///   serves `journalctl` and the central receiver.
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
    package func format(_ record: LogRecord) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + record.messageByteCount)
        var clock = Clock()
        append(record, to: &out, clock: &clock)
        return out
    }

    /// The records' messages, back to back in one block: one allocation for the batch, and
    /// the date and time computed once per second of records, not per record.
    package func format(_ records: [LogRecord]) -> ForwardBuffer.Block {
        var block = ForwardBuffer.Block()
        block.ends.reserveCapacity(records.count)
        var clock = Clock()
        // Indices, not `for record in records`: a loop over the elements copies each record.
        for index in records.indices {
            append(records[index], to: &block.bytes, clock: &clock)
            block.ends.append(block.bytes.count)
            // The first message says how large the others will be, about.
            if index == records.startIndex { block.bytes.reserveCapacity(block.bytes.count * records.count + 1024) }
        }
        return block
    }

    /// The date and time of the last second formatted (`YYYY-MM-DDTHH:MM:SS.`), for the
    /// records of one batch.
    package struct Clock {
        var second: Int64 = .min
        var prefix: [UInt8] = []
        package init() {}
    }

    package func append(_ record: LogRecord, to out: inout [UInt8], clock: inout Clock) {
        out.append(UInt8(ascii: "<"))
        Self.appendDecimal(UInt64(Self.userFacility * 8 + record.level.syslogPriority), to: &out)
        out.append(contentsOf: ">1 ".utf8)
        Self.appendTimestamp(micros: record.timestampMicros, to: &out, clock: &clock)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: hostname)
        out.append(UInt8(ascii: " "))
        Self.appendHeader(record.origin.identifier, limit: 48, to: &out)
        out.append(UInt8(ascii: " "))
        Self.appendDecimal(Int64(record.origin.pid), to: &out)
        out.append(contentsOf: " - [".utf8)
        out.append(contentsOf: Self.fieldsID.utf8)
        // `opening` is ` NAME="`, whole: one append per field for the name.
        func param(_ opening: StaticString, _ value: String) {
            opening.withUTF8Buffer { out.append(contentsOf: $0) }
            Self.appendParamValue(value, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        // Numbers are written as digits straight into the message: no String per field.
        func param(_ opening: StaticString, _ value: Int64) {
            opening.withUTF8Buffer { out.append(contentsOf: $0) }
            Self.appendDecimal(value, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        param(" SYSLOG_IDENTIFIER=\"", record.origin.identifier)
        param(" SYSLOG_PID=\"", Int64(record.origin.pid))
        param(" JB_UID=\"", Int64(record.origin.uid))
        param(" JB_GID=\"", Int64(record.origin.gid))
        param(" PRIORITY=\"", Int64(record.level.syslogPriority))
        param(" LOGGER_LEVEL=\"", record.level.rawValue)
        param(" LOGGER_LABEL=\"", record.label)
        if !record.file.isEmpty {
            param(" CODE_FILE=\"", record.file)
            param(" CODE_LINE=\"", Int64(record.line))
        }
        if !record.function.isEmpty { param(" CODE_FUNC=\"", record.function) }
        if record.origin.session != 0 {
            out.append(contentsOf: " JB_SESSION=\"".utf8)
            Hex.appendSession(record.origin.session, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        if record.sequence != 0 {
            out.append(contentsOf: " JB_SEQ=\"".utf8)
            Self.appendDecimal(record.sequence, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        param(" JB_TIMESTAMP=\"", record.timestampMicros)
        out.append(UInt8(ascii: "]"))
        if !record.metadata.isEmpty {
            out.append(UInt8(ascii: "["))
            out.append(contentsOf: Self.metadataID.utf8)
            func param(named name: String, _ value: String) {
                out.append(UInt8(ascii: " "))
                out.append(contentsOf: name.utf8)
                out.append(UInt8(ascii: "="))
                out.append(UInt8(ascii: "\""))
                Self.appendParamValue(value, to: &out)
                out.append(UInt8(ascii: "\""))
            }
            for index in record.metadata.indices {
                let item = record.metadata[index]
                // A PARAM-NAME is ASCII: its first byte is its first character.
                if Self.isParamName(item.key) && item.key.utf8.first != UInt8(ascii: "_") {
                    param(named: item.key, item.value)
                } else {
                    param(named: "_\(index).k", item.key)
                    param(named: "_\(index).v", item.value)
                }
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: " "))
        if let raw = record.messageBytes {
            out.append(contentsOf: raw)
        } else {
            out.append(0xEF)
            out.append(0xBB)
            out.append(0xBF)
            out.append(contentsOf: record.message.utf8)
        }
    }

    /// A number in decimal digits. Its own, not `JournaldSink.appendDecimal`: that one appends
    /// a slice of raw bytes, which the standard library copies byte by byte, and a message
    /// here has five to eight numbers.
    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        appendDecimal(value.magnitude, to: &out)
    }

    static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        var magnitude = value
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        withUnsafeMutableBytes(of: &digits) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var index = bytes.count
            repeat {
                index -= 1
                bytes[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index...]))
        }
    }

    /// RFC 5424's PARAM-NAME: 1 to 32 of PRINTUSASCII except `=`, space, `]` and `"`.
    package static func isParamName(_ key: String) -> Bool {
        let utf8 = key.utf8
        guard !utf8.isEmpty, utf8.count <= 32 else { return false }
        return utf8.allSatisfy {
            $0 >= 33 && $0 <= 126 && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "]") && $0 != UInt8(ascii: "\"")
        }
    }

    /// PARAM-VALUE: `"`, `\` and `]` escaped with a backslash; everything else as it is.
    package static func appendParamValue(_ value: String, to out: inout [UInt8]) {
        var value = value
        value.withUTF8 { utf8 in
            guard let base = utf8.baseAddress else { return }
            var start = 0
            var index = 0
            while index < utf8.count {
                // Eight bytes at a time while none of them needs escaping: most values need none.
                if index + 8 <= utf8.count,
                    !hasByteToEscape(UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                {
                    index += 8
                    continue
                }
                let byte = base[index]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "]") {
                    out.append(contentsOf: UnsafeBufferPointer(start: base + start, count: index - start))
                    out.append(UInt8(ascii: "\\"))
                    start = index
                }
                index += 1
            }
            out.append(contentsOf: UnsafeBufferPointer(start: base + start, count: utf8.count - start))
        }
    }

    /// Whether any of the eight bytes is `"`, `\` or `]` (exact for "any": a byte of
    /// `word ^ pattern` is zero where the byte equals the pattern's).
    private static func hasByteToEscape(_ word: UInt64) -> Bool {
        func hasZeroByte(_ v: UInt64) -> Bool { (v &- 0x0101_0101_0101_0101) & ~v & 0x8080_8080_8080_8080 != 0 }
        return hasZeroByte(word ^ 0x2222_2222_2222_2222) || hasZeroByte(word ^ 0x5C5C_5C5C_5C5C_5C5C)
            || hasZeroByte(word ^ 0x5D5D_5D5D_5D5D_5D5D)
    }

    /// A header field (HOSTNAME, APP-NAME): printable ASCII only (others become `_`), at most
    /// `limit` characters, `-` (NILVALUE) when empty.
    static func header(_ text: String, limit: Int) -> [UInt8] {
        let utf8 = text.utf8
        if !utf8.isEmpty && utf8.count <= limit && utf8.allSatisfy({ $0 >= 33 && $0 <= 126 }) { return Array(utf8) }
        let bytes = text.utf8.prefix(limit).map { $0 >= 33 && $0 <= 126 ? $0 : UInt8(ascii: "_") }
        return bytes.isEmpty ? [UInt8(ascii: "-")] : bytes
    }

    /// `header` appended, without an array on the way when the text needs no change.
    static func appendHeader(_ text: String, limit: Int, to out: inout [UInt8]) {
        var text = text
        let clean = text.withUTF8 { utf8 in
            guard !utf8.isEmpty, utf8.count <= limit, utf8.allSatisfy({ $0 >= 33 && $0 <= 126 }) else { return false }
            out.append(contentsOf: utf8)
            return true
        }
        if !clean { out.append(contentsOf: header(text, limit: limit)) }
    }

    /// RFC 3339 in UTC with microseconds, as RFC 5424's TIMESTAMP allows (at most 6 digits).
    /// The date and time are computed once per second (`clock`), the microseconds each time.
    static func appendTimestamp(micros: Int64, to out: inout [UInt8], clock: inout Clock) {
        let second = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        if second != clock.second {
            clock.second = second
            clock.prefix = dateAndTime(second: second)
        }
        out.append(contentsOf: clock.prefix)
        // Constant divisors: the compiler makes them multiplications.
        let fraction = Int(micros - second * 1_000_000)
        out.append(UInt8(48 + fraction / 100_000))
        out.append(UInt8(48 + fraction / 10_000 % 10))
        out.append(UInt8(48 + fraction / 1000 % 10))
        out.append(UInt8(48 + fraction / 100 % 10))
        out.append(UInt8(48 + fraction / 10 % 10))
        out.append(UInt8(48 + fraction % 10))
        out.append(UInt8(ascii: "Z"))
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
