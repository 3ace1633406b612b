#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import JournalBridgeCollector

/// The daemon's configuration file: `key = value` lines, `#` comments, values a
/// quoted string, an integer or `true`/`false` (a subset of TOML, so editors
/// highlight it). Parsing keeps each value's line for error messages.
struct ConfigurationFile {
    enum Value: Equatable {
        case string(String)
        case integer(Int)
        case boolean(Bool)

        var typeName: String {
            switch self {
            case .string: "a string"
            case .integer: "an integer"
            case .boolean: "true or false"
            }
        }
    }

    struct Entry {
        var value: Value
        var line: Int
    }

    let source: String
    private(set) var entries: [String: Entry] = [:]

    /// Parses `text` (see `init(bytes:source:)`).
    init(text: String, source: String) throws(ConfigurationError) {
        try self.init(bytes: Array(text.utf8), source: source)
    }

    /// Parses a file's bytes. Lines end in LF or CRLF (a file saved on Windows reads the same);
    /// a leading UTF-8 byte order mark is skipped; a line that is not valid UTF-8 is an error
    /// showing the bad bytes escaped.
    init(bytes: [UInt8], source: String) throws(ConfigurationError) {
        self.source = source
        var body = bytes[...]
        if body.starts(with: Self.byteOrderMark) { body = body.dropFirst(Self.byteOrderMark.count) }
        for (index, lineBytes) in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .enumerated()
        {
            let lineNumber = index + 1
            let withoutReturn = lineBytes.last == UInt8(ascii: "\r") ? lineBytes.dropLast() : lineBytes
            guard let raw = String(validating: withoutReturn, as: UTF8.self) else {
                throw ConfigurationError(
                    .syntax, source: source, line: lineNumber,
                    "not valid UTF-8: \"\(ConfigurationError.escaped(bytes: withoutReturn))\""
                )
            }
            let line = Self.strippingComment(raw[...]).trimmingSpaces
            if line.isEmpty { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError(
                    .syntax, source: source, line: lineNumber, "expected 'key = value', got \"\(line)\"")
            }
            let key = line[..<equals].trimmingSpaces
            let text = line[line.index(after: equals)...].trimmingSpaces
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ConfigurationError(.syntax, source: source, line: lineNumber, "bad key \"\(key)\"")
            }
            if let earlier = entries[key] {
                throw ConfigurationError(
                    .duplicateKey, key: key, source: source, line: lineNumber, "already set on line \(earlier.line)")
            }
            entries[key] = Entry(
                value: try Self.parseValue(text, key: key, source: source, line: lineNumber), line: lineNumber)
        }
    }

    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Configuration files are a few kilobytes; a bigger one is a mistake (or `/dev/zero` behind a link).
    static let maximumSize = 1 << 20

    /// The bytes of the file at `path`, which must be a regular file (a symbolic link to one is
    /// fine) of at most `maximumSize` bytes (`readFile`: a FIFO, a device or a directory is
    /// refused instead of hanging the daemon, eating its memory, or reading as an empty file).
    static func read(path: String) throws(ConfigurationError) -> [UInt8] {
        func failure(_ problem: String) -> ConfigurationError { ConfigurationError(.unreadable, source: path, problem) }
        let bytes: [UInt8]
        let info: stat
        do {
            (bytes, info) = try readFileAndStatus(path, limit: maximumSize)
        } catch {
            switch error {
            case .system(let failed) where failed.call == "open": throw failure(String(cString: strerror(failed.errno)))
            case .system(let failed): throw failure("\(failed.call): \(String(cString: strerror(failed.errno)))")
            case .notRegularFile(let mode): throw failure("it is \(FileDescriptorIO.kind(mode)), not a regular file")
            case .tooLarge:
                throw failure("larger than \(maximumSize) bytes (1 MiB); a configuration file is a few kilobytes")
            }
        }
        // The file decides where the collector, maybe root, writes and listens: only its own
        // user's or root's, and not one anyone may write (sshd's StrictModes, in short).
        if info.st_uid != geteuid() && info.st_uid != 0 {
            throw failure(
                "it belongs to uid \(info.st_uid); the collector (uid \(geteuid())) takes its configuration only from a file of its own user's or root's"
            )
        }
        if info.st_mode & S_IWOTH != 0 {
            throw failure("anyone may write it (mode \(String(info.st_mode & 0o7777, radix: 8))): chmod o-w \(path)")
        }
        return bytes
    }

    private static func parseValue(_ text: String, key: String, source: String, line: Int) throws(ConfigurationError)
        -> Value
    {
        if text == "true" { return .boolean(true) }
        if text == "false" { return .boolean(false) }
        if let integer = Int(text.replacingUnderscores) { return .integer(integer) }
        if text.hasPrefix("\""), text.count >= 2, text.hasSuffix("\"") {
            var result = ""
            var escaped = false
            for character in text.dropFirst().dropLast() {
                if escaped {
                    switch character {
                    case "n": result.append("\n")
                    case "t": result.append("\t")
                    case "\"", "\\": result.append(character)
                    default:
                        throw ConfigurationError(
                            .syntax, key: key, source: source, line: line, "unknown escape \\\(character)")
                    }
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    throw ConfigurationError(
                        .syntax, key: key, source: source, line: line, "a quote inside the string must be written \\\"")
                } else {
                    result.append(character)
                }
            }
            if escaped {
                throw ConfigurationError(.syntax, key: key, source: source, line: line, "string ends in a backslash")
            }
            return .string(result)
        }
        throw ConfigurationError(
            .syntax, key: key, source: source, line: line,
            "\(text.isEmpty ? "no value" : "\"\(text)\""): expected a \"quoted string\", an integer, true or false"
        )
    }

    /// Drops a `#` comment that is not inside a quoted string.
    private static func strippingComment(_ line: Substring) -> Substring {
        var inString = false
        var escaped = false
        for index in line.indices {
            let character = line[index]
            if escaped { escaped = false; continue }
            if character == "\\" && inString { escaped = true; continue }
            if character == "\"" { inString.toggle() }
            if character == "#" && !inString { return line[..<index] }
        }
        return line
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(
            drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }
                .reversed())
    }

    var replacingUnderscores: String { String(filter { $0 != "_" }) }
}
