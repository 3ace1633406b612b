/// A configuration the daemon cannot run with. `collect` and `check-config` print it
/// and exit with status 78 (EX_CONFIG), naming the file, the line, the key and the problem.
/// Only what a restart cannot fix is a configuration error; a failure at run time
/// (the socket is busy, a file cannot be opened after the checks passed) is not one.
package struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of problem, printed before the details.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        // A struct over a private enum, as swift-service-lifecycle's `ServiceGroupError.Code`:
        // adding a code does not break a caller's exhaustive switch.
        private enum Kind: String, Sendable {
            case unreadable = "cannot read the file"
            case syntax = "syntax error"
            case unknownKey = "unknown key"
            case duplicateKey = "key set twice"
            case wrongType = "wrong type"
            case badValue = "bad value"
            case unwritable = "cannot write there"
        }

        private let kind: Kind

        private init(_ kind: Kind) { self.kind = kind }

        /// Cannot read the file.
        package static let unreadable = Code(.unreadable)
        /// Syntax error.
        package static let syntax = Code(.syntax)
        /// Unknown key.
        package static let unknownKey = Code(.unknownKey)
        /// Key set twice.
        package static let duplicateKey = Code(.duplicateKey)
        /// Wrong type.
        package static let wrongType = Code(.wrongType)
        /// Bad value.
        package static let badValue = Code(.badValue)
        /// Cannot write there.
        package static let unwritable = Code(.unwritable)

        /// The code in words, as printed before the details.
        package var description: String { kind.rawValue }
    }

    /// EX_CONFIG from sysexits.h; the systemd unit does not restart on it (RestartPreventExitStatus=78).
    package static let exitStatus: Int32 = 78

    /// The kind of problem.
    package var code: Code
    /// The key at fault, when one is.
    package var key: String?
    /// The file (or "defaults") the configuration came from.
    package var source: String
    /// The line of `source` that set `key`, when the file set it.
    package var line: Int?
    /// What is wrong, in words.
    package var problem: String

    /// A problem with `key` (set on `line` of `source`).
    package init(_ code: Code, key: String? = nil, source: String, line: Int? = nil, _ problem: String) {
        self.code = code
        self.key = key
        self.source = source
        self.line = line
        self.problem = problem
    }

    /// `file:line: key: kind: problem`, one line, with control and invisible characters escaped.
    package var description: String {
        var location = Self.escaped(source)
        if let line { location += ":\(line)" }
        if let key { return "\(location): \(Self.escaped(key)): \(code.description): \(Self.escaped(problem))" }
        return "\(location): \(code.description): \(Self.escaped(problem))"
    }

    /// Text from a file or a path, made safe to print on one terminal line: control characters
    /// (`\n`, `\t`, `\x1B`, ...) and invisible ones (a byte order mark, bidirectional overrides,
    /// line separators) become visible escapes. Unlike `LineEscaping` (the log files' reversible
    /// rule) a backslash stays as it is, so that paths and quoted values read as typed; and unlike it,
    /// format characters are escaped too: an invisible character in a key must be seen to be fixed.
    static func escaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                switch scalar.properties.generalCategory {
                case .control where scalar.value < 0x80:
                    result += "\\x" + hex(scalar.value, digits: 2)
                case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                    result += "\\u{" + hex(scalar.value, digits: 4) + "}"
                default:
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// Bytes that are not valid UTF-8, shown with the valid text as it is and each invalid byte as `\xNN`.
    static func escaped(bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        var result = ""
        var offset = 0
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                result.unicodeScalars.append(Unicode.UTF8.decode(encoded))
                offset += encoded.count
            case .error(let length):
                for byte in bytes[offset..<offset + length] { result += "\\x" + hex(UInt32(byte), digits: 2) }
                offset += length
            case .emptyInput:
                return result
            }
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
