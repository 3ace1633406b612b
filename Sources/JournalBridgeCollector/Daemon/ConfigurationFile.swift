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

    init(text: String, source: String) throws(ConfigurationError) {
        self.source = source
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = Self.strippingComment(raw).trimmingSpaces
            if line.isEmpty { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError(.syntax, source: source, line: lineNumber, "expected 'key = value', got \"\(line)\"")
            }
            let key = line[..<equals].trimmingSpaces
            let text = line[line.index(after: equals)...].trimmingSpaces
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ConfigurationError(.syntax, source: source, line: lineNumber, "bad key \"\(key)\"")
            }
            if entries[key] != nil {
                throw ConfigurationError(.duplicateKey, key: key, source: source, line: lineNumber, "already set on line \(entries[key]!.line)")
            }
            entries[key] = Entry(value: try Self.parseValue(text, key: key, source: source, line: lineNumber), line: lineNumber)
        }
    }

    private static func parseValue(_ text: String, key: String, source: String, line: Int) throws(ConfigurationError) -> Value {
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
                        throw ConfigurationError(.syntax, key: key, source: source, line: line, "unknown escape \\\(character)")
                    }
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    throw ConfigurationError(.syntax, key: key, source: source, line: line, "a quote inside the string must be written \\\"")
                } else {
                    result.append(character)
                }
            }
            if escaped { throw ConfigurationError(.syntax, key: key, source: source, line: line, "string ends in a backslash") }
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
        String(drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }

    var replacingUnderscores: String { String(filter { $0 != "_" }) }
}
