import JournalBridge

/// The metadata of a record that cannot go to journald as fields of their own, in one field.
///
/// `sd_journal_sendv` takes at most 1,024 iovecs an entry (2 a field, 5 for a field whose
/// value holds a newline), so an entry of plain fields stops at 512 fields, far below the
/// protocol's 1,000 metadata pairs. What does not fit, and any key that has no journald
/// name (empty, only punctuation, non-ASCII), goes into `JB_METADATA` as one JSON object:
/// the original keys and values, in record order (a repeated key is repeated), one line, so
/// nothing is lost and `jq` reads it back (docs/journalctl.md).
enum PackedMetadata {
    /// The field's name. `JB_` is reserved for the bridge: no metadata key maps to it.
    static let fieldName: StaticString = "JB_METADATA"

    /// Appends `{"key":"value",...}` for `items`: JSON string escaping, with every control
    /// character escaped, so the value holds no newline (one iovec pair, text framing).
    static func appendJSON(_ items: some Sequence<MetadataField>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        var first = true
        for item in items {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            appendString(item.key, to: &out)
            out.append(UInt8(ascii: ":"))
            appendString(item.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    static func appendString(_ string: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default:
                // A Swift String is valid UTF-8: its bytes are valid JSON text as they are.
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
