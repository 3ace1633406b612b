/// Escaping for text outputs: one record must stay one line, and nothing a
/// client sends may drive the reader's terminal. Control characters (C0, DEL,
/// C1) and the Unicode line/paragraph separators are written as visible escapes.
public enum LineEscaping {
    public static func appendEscaped(_ string: String, to out: inout [UInt8]) {
        var string = string
        string.withUTF8 { appendEscaped(utf8: $0, to: &out) }
    }

    public static func escaped(_ string: String) -> String {
        var out: [UInt8] = []
        appendEscaped(string, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendEscaped(utf8: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        // Fast path: printable ASCII and well-behaved multi-byte characters go through unchanged.
        var i = 0
        var runStart = 0
        let n = utf8.count
        while i < n {
            let byte = utf8[i]
            var escapeLength = 0
            if byte < 0x20 || byte == 0x7F {
                escapeLength = 1
            } else if byte == 0xC2, i + 1 < n, utf8[i + 1] >= 0x80, utf8[i + 1] <= 0x9F {
                escapeLength = 2  // C1 control, U+0080...U+009F
            } else if byte == 0xE2, i + 2 < n, utf8[i + 1] == 0x80, utf8[i + 2] == 0xA8 || utf8[i + 2] == 0xA9 {
                escapeLength = 3  // U+2028, U+2029
            }
            if escapeLength == 0 {
                i += 1
                continue
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
            switch escapeLength {
            case 1:
                switch byte {
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                default: appendHex(prefix: "\\x", value: UInt32(byte), digits: 2, to: &out)
                }
            case 2:
                appendHex(prefix: "\\u", value: UInt32(utf8[i + 1]), digits: 4, to: &out)
            default:
                appendHex(prefix: "\\u", value: utf8[i + 2] == 0xA8 ? 0x2028 : 0x2029, digits: 4, to: &out)
            }
            i += escapeLength
            runStart = i
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<n]))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func appendHex(prefix: StaticString, value: UInt32, digits: Int, to out: inout [UInt8]) {
        prefix.withUTF8Buffer { out.append(contentsOf: $0) }
        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
            out.append(hexDigits[Int((value >> UInt32(shift)) & 0xF)])
        }
    }
}
