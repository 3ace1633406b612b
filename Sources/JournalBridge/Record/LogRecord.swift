#if canImport(Glibc)
import Glibc
#endif
import Logging

/// One log record, as a worker hands it over and as every sink receives it.
///
/// Metadata is flattened to ordered string pairs: that is what journald and the
/// text files store, and it keeps the wire format independent of swift-log.
public struct LogRecord: Sendable, Equatable {
    /// The swift-log level; journald gets its syslog priority.
    public var level: Logger.Level
    /// Wall-clock time of the `log` call, microseconds since the Unix epoch (journald's unit).
    public var timestampMicros: Int64
    /// The logger's label (`LOGGER_LABEL` in journald, `%(name)s` in the files).
    public var label: String
    /// The message. When the bytes received were not valid UTF-8 this is their repaired form
    /// (U+FFFD for each bad sequence) and `messageBytes` holds the bytes themselves.
    public var message: String {
        didSet {
            // Whoever sets a new message (a cut, say) replaces the raw bytes too.
            if messageBytes != nil, message != oldValue { messageBytes = nil }
        }
    }
    /// The message's bytes, kept only when they are not valid UTF-8 (a `send -` line, a
    /// client's frame), so that journald gets them as sent and the files show them escaped.
    /// nil for every valid message: the common case costs nothing.
    package private(set) var messageBytes: [UInt8]?
    /// The source file of the `log` call (`CODE_FILE`).
    public var file: String
    /// The function of the `log` call (`CODE_FUNC`).
    public var function: String
    /// The line of the `log` call (`CODE_LINE`).
    public var line: UInt32
    /// The metadata, flattened to key/value strings, keys sorted.
    public var metadata: [MetadataField]
    /// Per-shipper sequence number (starts at 1); 0 when the record never travelled.
    public var sequence: UInt64
    /// Who sent it. The collector fills this from SO_PEERCRED, never from the payload.
    public var origin: Origin
    /// The fields a syslog message claims, by journald name (`PRIORITY` as sent,
    /// `SYSLOG_FACILITY`, `SYSLOG_IDENTIFIER`, `SYSLOG_PID`, ...: docs/journalctl.md). Set by
    /// the collector's syslog parsing only; the wire protocol has no place for it. When not
    /// empty, the journald sink writes these instead of its own `PRIORITY`,
    /// `SYSLOG_IDENTIFIER` and `SYSLOG_PID`, and the kernel's pid as `JB_PID`.
    package var syslogFields: [MetadataField] = []

    /// A record; every field but the level and the message has a default (now, this process).
    public init(
        level: Logger.Level,
        timestampMicros: Int64 = LogRecord.now(),
        label: String = "",
        message: String,
        file: String = "",
        function: String = "",
        line: UInt32 = 0,
        metadata: [MetadataField] = [],
        sequence: UInt64 = 0,
        origin: Origin = .thisProcess
    ) {
        self.level = level
        self.timestampMicros = timestampMicros
        self.label = label
        self.message = message
        self.file = file
        self.function = function
        self.line = line
        self.metadata = metadata
        self.sequence = sequence
        self.origin = origin
    }

    /// Sets the message from bytes as received: a valid message becomes `message` alone; an
    /// invalid one is kept in `messageBytes` as well, with its repaired form in `message`.
    package mutating func setMessage(bytes: UnsafeRawBufferPointer) {
        let (text, raw) = RawText.decode(bytes)
        messageBytes = nil
        message = text
        messageBytes = raw
    }

    /// Size of the message on the wire and in journald: its bytes as received.
    @inline(__always)
    package var messageByteCount: Int { messageBytes?.count ?? message.utf8.count }

    /// Now, in the unit of `timestampMicros`: microseconds since the Unix epoch (CLOCK_REALTIME).
    @inline(__always)
    @usableFromInline
    package static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) &* 1_000_000 &+ Int64(ts.tv_nsec / 1000)
    }
}

/// One metadata entry of a record: a key and its value as text.
public struct MetadataField: Sendable, Equatable {
    /// The key as the caller wrote it; journald gets it as a field name (`request.id` becomes `REQUEST_ID`).
    public var key: String
    /// The value; its repaired form when the bytes received were not valid UTF-8 (`valueBytes`).
    public var value: String {
        didSet {
            if valueBytes != nil, value != oldValue { valueBytes = nil }
        }
    }
    /// The value's bytes, kept only when they are not valid UTF-8 (a client's frame): journald
    /// gets them as sent, the files show them escaped. nil for every valid value.
    package private(set) var valueBytes: [UInt8]?

    /// The entry `key` = `value`.
    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }

    /// Sets the value from bytes as received, like `LogRecord.setMessage(bytes:)`.
    package mutating func setValue(bytes: UnsafeRawBufferPointer) {
        let (text, raw) = RawText.decode(bytes)
        valueBytes = nil
        value = text
        valueBytes = raw
    }

    /// Size of the value on the wire and in journald: its bytes as received.
    @inline(__always)
    package var valueByteCount: Int { valueBytes?.count ?? value.utf8.count }

    /// Appends the value's bytes as received (journald's field value).
    @inline(__always)
    package func appendValue(to out: inout [UInt8]) {
        if let valueBytes { out.append(contentsOf: valueBytes) } else { out.append(contentsOf: value.utf8) }
    }
}

/// Text received as bytes: the one rule for keeping what is not valid UTF-8.
package enum RawText {
    /// The bytes as a String (repaired with U+FFFD where not valid UTF-8) and, only when a
    /// repair happened, the bytes themselves.
    @inline(__always)
    package static func decode(_ bytes: UnsafeRawBufferPointer) -> (String, [UInt8]?) {
        var text = String(decoding: bytes, as: UTF8.self)
        // A repair puts U+FFFD in place of each bad sequence, so the bytes differ. Comparing
        // them costs a memcmp; String(validating:) would cost more than the decoding itself.
        let intact = text.withUTF8 { utf8 in
            utf8.count == bytes.count
                && (utf8.isEmpty || memcmp(utf8.baseAddress!, bytes.baseAddress!, utf8.count) == 0)
        }
        return (text, intact ? nil : Array(bytes))
    }
}

/// The process a record came from and the name it logs under.
public struct Origin: Sendable, Equatable {
    /// The sender's process id (`SO_PEERCRED` for a client of a collector).
    public var pid: Int32
    /// The sender's user id.
    public var uid: UInt32
    /// The sender's group id.
    public var gid: UInt32
    /// `SYSLOG_IDENTIFIER`: the program name.
    public var identifier: String
    /// The sending shipper's session (random, kept across its reconnects); 0 in direct mode.
    /// With the record's sequence number it names the record: a repeated pair is a duplicate.
    public var session: UInt64
    /// The connected worker's unit and process facts, read when it connected (nil in direct
    /// mode and for the collector's own records): the journald sink vouches for them.
    package var identity: PeerIdentity?

    /// An origin; `session` 0 is direct mode.
    public init(pid: Int32, uid: UInt32, gid: UInt32, identifier: String, session: UInt64 = 0) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.identifier = identifier
        self.session = session
    }

    /// This process, under its program name.
    @usableFromInline
    package static var thisProcess: Origin {
        Origin(pid: getpid(), uid: getuid(), gid: getgid(), identifier: ProgramName.current)
    }
}

/// The name a program logs under unless told otherwise.
@usableFromInline
package enum ProgramName {
    /// The basename of argv[0], as `logger` and `sd_journal_send` default it.
    @usableFromInline
    package static let current: String = {
        let path = CommandLine.arguments.first ?? "journal-bridge"
        return path.split(separator: "/").last.map(String.init) ?? path
    }()
}

extension Logger.Metadata {
    /// Flattens swift-log metadata to key/value strings, keys sorted so output is stable.
    package func flattened() -> [MetadataField] {
        var fields: [MetadataField] = []
        fields.reserveCapacity(count)
        for (key, value) in self {
            if case .string(let text) = value {
                fields.append(MetadataField(key, text))
            } else {
                fields.append(MetadataField(key, value.description))
            }
        }
        if fields.count > 1 { fields.sort { $0.key < $1.key } }
        return fields
    }
}
