import JournalBridge

/// A line template in Python logging's `%`-style, parsed once:
/// `[%(asctime)s] %(levelname)s : %(message)s` is the file format of the Python pattern.
///
/// Fields: `asctime`, `levelname`, `message`, `name` (logger label), `process`,
/// `identifier`, `filename`, `lineno`, `funcName`, `metadata`, `sequence` and
/// `session` (16 hex digits, as journald's `JB_SESSION`; together they name a record, so a
/// reader can drop a duplicate that a collector restart let through). Every value is escaped reversibly (`LineEscaping`,
/// docs/files.md), so a formatted record is exactly one line and its bytes can be
/// recovered; `metadata` is `key=value` pairs separated by one space, a key or value
/// quoted when it is empty or holds a space, `=` or `"`.
public struct LineFormat: Sendable, Equatable {
    /// `[%(asctime)s] %(levelname)s : %(message)s`: the default of `<base>_error.log` and `<base>_debug.log`.
    public static let defaultFile = try! LineFormat("[%(asctime)s] %(levelname)s : %(message)s")
    /// `[%(levelname)s] %(message)s`: the default of the console.
    public static let defaultConsole = try! LineFormat("[%(levelname)s] %(message)s")

    enum Part: Sendable, Equatable {
        case literal([UInt8])
        case asctime, levelname, message, name, process, identifier, filename, lineno, funcName, metadata, sequence,
            session
    }

    /// A template that cannot be parsed: an unknown field, a `%` without a field.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        /// The template as given.
        public var template: String
        /// What is wrong with it.
        public var problem: String
        /// `bad format "template": problem`.
        public var description: String { "bad format \"\(template)\": \(problem)" }
    }

    let parts: [Part]
    /// The template as given.
    public let template: String

    /// Parses `template`; throws for an unknown field or a stray `%`.
    public init(_ template: String) throws(ParseError) {
        self.template = template
        var parts: [Part] = []
        var literal: [UInt8] = []
        var rest = Substring(template)
        while let percent = rest.firstIndex(of: "%") {
            literal.append(contentsOf: rest[..<percent].utf8)
            let after = rest[rest.index(after: percent)...]
            if after.hasPrefix("%") {
                literal.append(UInt8(ascii: "%"))
                rest = after.dropFirst()
                continue
            }
            guard after.hasPrefix("("), let close = after.firstIndex(of: ")") else {
                throw ParseError(template: template, problem: "'%' must start '%(field)s' or be written '%%'")
            }
            let key = String(after[after.index(after: after.startIndex)..<close])
            let conversion = after[after.index(after: close)...].first
            guard conversion == "s" || conversion == "d" else {
                throw ParseError(template: template, problem: "'%(\(key))' must end with 's' or 'd'")
            }
            let part: Part
            switch key {
            case "asctime": part = .asctime
            case "levelname": part = .levelname
            case "message": part = .message
            case "name": part = .name
            case "process": part = .process
            case "identifier": part = .identifier
            case "filename", "pathname": part = .filename
            case "lineno": part = .lineno
            case "funcName": part = .funcName
            case "metadata": part = .metadata
            case "sequence": part = .sequence
            case "session": part = .session
            default: throw ParseError(template: template, problem: "unknown field '\(key)'")
            }
            if !literal.isEmpty {
                parts.append(.literal(literal))
                literal = []
            }
            parts.append(part)
            rest = after[after.index(close, offsetBy: 2)...]
        }
        literal.append(contentsOf: rest.utf8)
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    /// Two formats are equal when their templates are.
    public static func == (lhs: LineFormat, rhs: LineFormat) -> Bool { lhs.template == rhs.template }
}

/// Turns records into lines; holds the per-second timestamp cache, so one per writer.
struct LineFormatter {
    let format: LineFormat
    private var clock = TimestampFormatter()

    init(_ format: LineFormat) { self.format = format }

    /// Appends the record's line, newline included.
    mutating func append(_ record: LogRecord, to out: inout [UInt8]) {
        for part in format.parts {
            switch part {
            case .literal(let bytes): out.append(contentsOf: bytes)
            case .asctime: clock.append(micros: record.timestampMicros, to: &out)
            case .levelname: out.append(contentsOf: record.level.displayName.utf8)
            case .message:
                // Raw bytes are there only when the message was not valid UTF-8.
                if let bytes = record.messageBytes {
                    LineEscaping.appendEscaped(bytes: bytes, to: &out)
                } else {
                    LineEscaping.appendEscaped(record.message, to: &out)
                }
            case .name: LineEscaping.appendEscaped(record.label, to: &out)
            case .process: out.append(contentsOf: String(record.origin.pid).utf8)
            case .identifier: LineEscaping.appendEscaped(record.origin.identifier, to: &out)
            case .filename: LineEscaping.appendEscaped(record.file, to: &out)
            case .lineno: out.append(contentsOf: String(record.line).utf8)
            case .funcName: LineEscaping.appendEscaped(record.function, to: &out)
            case .sequence: out.append(contentsOf: String(record.sequence).utf8)
            case .session: Hex.appendSession(record.origin.session, to: &out)
            case .metadata:
                for (i, field) in record.metadata.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: " ")) }
                    LineEscaping.appendMetadataItem(field.key, to: &out)
                    out.append(UInt8(ascii: "="))
                    if let bytes = field.valueBytes {
                        LineEscaping.appendMetadataItem(bytes: bytes, to: &out)
                    } else {
                        LineEscaping.appendMetadataItem(field.value, to: &out)
                    }
                }
            }
        }
        out.append(UInt8(ascii: "\n"))
    }
}
