/// Escaping for text outputs (files, console), reversible: one record stays one
/// line, nothing a client sends may drive the reader's terminal, and the bytes
/// sent can be recovered from the line (`unescaped`). docs/files.md is the
/// specification:
///
/// - `\` is written `\\`;
/// - LF, CR, TAB are written `\n`, `\r`, `\t`; other C0 controls and DEL `\xNN`;
/// - the C1 controls (U+0080...U+009F) and U+2028, U+2029 (line breaks to some readers)
///   are written as their UTF-8 bytes, `\xc2\x85`, `\xe2\x80\xa8`;
/// - a byte that is not part of valid UTF-8 is written `\xNN`;
/// - everything else (printable ASCII, valid multi-byte UTF-8) is itself.
///
/// These are the escapes of a Python bytes literal: Python's `codecs.escape_decode` is an
/// exact inverse, as is `unescaped` here.
package enum LineEscaping {
    /// Appends `string` escaped.
    package static func appendEscaped(_ string: String, to out: inout [UInt8]) {
        var string = string
        // A String is valid UTF-8: no validation needed, only the escapes.
        string.withUTF8 { appendEscaped(utf8: $0, validate: false, to: &out) }
    }

    /// `string` escaped.
    package static func escaped(_ string: String) -> String {
        var out: [UInt8] = []
        appendEscaped(string, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Escapes arbitrary bytes: invalid UTF-8 comes out as `\xNN` per byte.
    package static func appendEscaped(bytes: [UInt8], to out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { appendEscaped(utf8: $0, validate: true, to: &out) }
    }

    /// `bytes` escaped (always valid UTF-8 and printable).
    package static func escaped(bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        appendEscaped(bytes: bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static let backslash = UInt8(ascii: "\\")

    /// Length of the valid UTF-8 sequence starting at `i` (lead byte >= 0x80), 0 if invalid
    /// (Unicode table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF).
    @inline(__always)
    private static func validSequenceLength(_ utf8: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        let n = utf8.count
        let lead = utf8[i]
        @inline(__always) func continuation(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            i + k < n && utf8[i + k] >= low && utf8[i + k] <= high
        }
        switch lead {
        case 0xC2...0xDF: return continuation(1) ? 2 : 0
        case 0xE0: return continuation(1, 0xA0) && continuation(2) ? 3 : 0
        case 0xED: return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0
        case 0xE1...0xEF: return continuation(1) && continuation(2) ? 3 : 0
        case 0xF0: return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3: return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4: return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default: return 0
        }
    }

    /// Whether none of the eight bytes needs an escape or a look: each is 0x20...0x7E and no backslash.
    @inline(__always)
    private static func isPlain(_ word: ByteWord) -> Bool {
        !(word.containsNonASCII || word.containsByte(below: 0x20) || word.contains(backslash) || word.contains(0x7F))
    }

    static func appendEscaped(utf8: UnsafeBufferPointer<UInt8>, validate: Bool, to out: inout [UInt8]) {
        // Runs of bytes that need no escape are copied in one piece.
        var i = 0
        var runStart = 0
        let n = utf8.count
        while i < n {
            // Eight plain bytes at a time (the common case: a line of printable ASCII).
            while i + 8 <= n, isPlain(ByteWord(utf8.baseAddress! + i)) { i += 8 }
            guard i < n else { break }
            let byte = utf8[i]
            if byte >= 0x20 && byte < 0x7F && byte != backslash {
                i += 1
                continue
            }
            if byte >= 0x80 {
                let length = validate ? validSequenceLength(utf8, at: i) : 1
                if length == 0 {
                    flush(utf8, runStart, i, &out)
                    appendHex(prefix: "\\x", value: UInt32(byte), digits: 2, to: &out)
                    i += 1
                    runStart = i
                    continue
                }
                let escapedLength: Int
                if byte == 0xC2, i + 1 < n, utf8[i + 1] >= 0x80, utf8[i + 1] <= 0x9F {
                    escapedLength = 2  // C1 control
                } else if byte == 0xE2, i + 2 < n, utf8[i + 1] == 0x80, utf8[i + 2] == 0xA8 || utf8[i + 2] == 0xA9 {
                    escapedLength = 3  // U+2028, U+2029
                } else {
                    i += length
                    continue
                }
                flush(utf8, runStart, i, &out)
                for k in i..<i + escapedLength { appendHex(prefix: "\\x", value: UInt32(utf8[k]), digits: 2, to: &out) }
                i += escapedLength
                runStart = i
                continue
            }
            flush(utf8, runStart, i, &out)
            switch byte {
            case backslash: out.append(contentsOf: [backslash, backslash])
            case 0x0A: out.append(contentsOf: [backslash, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [backslash, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [backslash, UInt8(ascii: "t")])
            default: appendHex(prefix: "\\x", value: UInt32(byte), digits: 2, to: &out)
            }
            i += 1
            runStart = i
        }
        flush(utf8, runStart, n, &out)
    }

    @inline(__always)
    private static func flush(_ utf8: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ out: inout [UInt8]) {
        if start < end { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<end])) }
    }

    // MARK: metadata pairs

    /// True when a metadata key or value must be quoted so that `k=v k=v` splits unambiguously:
    /// it is empty, or holds a space, `=` or `"`.
    static func needsQuotes(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        if utf8.isEmpty { return true }
        for byte in utf8 where byte == 0x20 || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "\"") { return true }
        return false
    }

    /// One metadata key or value: escaped, and quoted (`"` inside written `\"`) when `needsQuotes`.
    static func appendMetadataItem(_ string: String, to out: inout [UInt8]) {
        var string = string
        string.withUTF8 { appendMetadataItem(utf8: $0, validate: false, to: &out) }
    }

    /// A value received as bytes that are not valid UTF-8: the bad bytes come out as `\xNN`.
    static func appendMetadataItem(bytes: [UInt8], to out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { appendMetadataItem(utf8: $0, validate: true, to: &out) }
    }

    private static func appendMetadataItem(utf8: UnsafeBufferPointer<UInt8>, validate: Bool, to out: inout [UInt8]) {
        guard needsQuotes(utf8) else { return appendEscaped(utf8: utf8, validate: validate, to: &out) }
        out.append(UInt8(ascii: "\""))
        var start = 0
        for (index, byte) in utf8.enumerated() where byte == UInt8(ascii: "\"") {
            // A `"` is never inside a multi-byte sequence, so cutting here keeps every sequence whole.
            appendEscaped(utf8: UnsafeBufferPointer(rebasing: utf8[start..<index]), validate: validate, to: &out)
            out.append(contentsOf: [backslash, UInt8(ascii: "\"")])
            start = index + 1
        }
        appendEscaped(utf8: UnsafeBufferPointer(rebasing: utf8[start...]), validate: validate, to: &out)
        out.append(UInt8(ascii: "\""))
    }

    @inline(__always)
    private static func appendHex(prefix: StaticString, value: UInt32, digits: Int, to out: inout [UInt8]) {
        prefix.withUTF8Buffer { out.append(contentsOf: $0) }
        Hex.append(UInt64(value), digits: digits, to: &out)
    }
}

// MARK: the inverse

extension LineEscaping {
    /// The bytes an escaped text stands for; nil when it is not something `appendEscaped` writes
    /// (a lone `\`, an unknown escape, bad hex digits). `\"` stands for `"`.
    package static func unescaped<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var index = text.startIndex
        func hex(_ digits: Int) -> UInt32? {
            var value: UInt32 = 0
            for _ in 0..<digits {
                guard index != text.endIndex else { return nil }
                let c = text[index]
                let digit: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
                index = text.index(after: index)
            }
            return value
        }
        while index != text.endIndex {
            let byte = text[index]
            index = text.index(after: index)
            guard byte == backslash else {
                out.append(byte)
                continue
            }
            guard index != text.endIndex else { return nil }
            let kind = text[index]
            index = text.index(after: index)
            switch kind {
            case backslash: out.append(backslash)
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "x"):
                guard let value = hex(2) else { return nil }
                out.append(UInt8(value))
            default:
                return nil
            }
        }
        return out
    }

    /// Splits a `%(metadata)s` text back into its key/value byte pairs; nil when it is not
    /// something the formatter writes.
    package static func parsedMetadata(_ text: [UInt8]) -> [(key: [UInt8], value: [UInt8])]? {
        var pairs: [(key: [UInt8], value: [UInt8])] = []
        var index = 0
        /// One key or value, quoted or bare, ending before `terminator` (or the end for a value).
        func item(until terminator: UInt8) -> [UInt8]? {
            if index < text.count && text[index] == UInt8(ascii: "\"") {
                var end = index + 1
                while end < text.count && text[end] != UInt8(ascii: "\"") {
                    end += text[end] == backslash ? 2 : 1
                }
                guard end < text.count else { return nil }
                let inner = text[(index + 1)..<end]
                index = end + 1
                return unescaped(inner)
            }
            var end = index
            while end < text.count && text[end] != terminator { end += 1 }
            let bare = text[index..<end]
            index = end
            guard !bare.isEmpty else { return nil }
            return unescaped(bare)
        }
        while index < text.count {
            if !pairs.isEmpty {
                guard text[index] == 0x20 else { return nil }
                index += 1
            }
            guard let key = item(until: UInt8(ascii: "=")), index < text.count, text[index] == UInt8(ascii: "=") else {
                return nil
            }
            index += 1
            guard let value = item(until: 0x20) else { return nil }
            pairs.append((key, value))
        }
        return pairs
    }
}
