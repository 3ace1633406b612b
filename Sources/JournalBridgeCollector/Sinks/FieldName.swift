/// Mapping of metadata keys to journald field names.
///
/// journald silently drops a field whose name is not `[A-Z0-9_]+`, starts with
/// `_` (trusted fields) or a digit, or is longer than 64 characters. A metadata
/// key must also never overwrite a field the bridge sets itself.
package enum FieldName {
    package static let maximumLength = 64

    /// Names the bridge writes; a metadata key mapping to one is moved aside.
    package static let reservedNames: Set<String> = [
        "MESSAGE", "MESSAGE_ID", "PRIORITY", "LOGGER_LABEL", "LOGGER_LEVEL", "ERRNO", "TID",
        "INVOCATION_ID", "USER_INVOCATION_ID", "DOCUMENTATION",
    ]

    /// Prefixes whose every name belongs to the bridge (or journald).
    package static let reservedPrefixes: [String] = ["CODE_", "SYSLOG_", "OBJECT_", "JB_", "COREDUMP_"]

    /// Prefix given to keys that would collide with a reserved name or start with a digit.
    package static let escapePrefix = "META_"

    /// `request.id` -> `REQUEST_ID`; `_PID` -> `PID`; `priority` -> `META_PRIORITY`;
    /// `2fa` -> `META_2FA`. Returns nil only for keys with nothing usable (empty, only `_`).
    package static func journaldName(forMetadataKey key: String) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(key.utf8.count, maximumLength))
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                bytes.append(byte)
            case UInt8(ascii: "a")...UInt8(ascii: "z"):
                bytes.append(byte - 32)
            default:
                // Any other byte, including each byte of a multi-byte character, becomes `_`,
                // but runs collapse so `a..b` and `a.b` read alike.
                if bytes.last != UInt8(ascii: "_") { bytes.append(UInt8(ascii: "_")) }
            }
        }
        // A leading `_` would make it a trusted field that journald drops.
        let firstKept = bytes.firstIndex { $0 != UInt8(ascii: "_") } ?? bytes.endIndex
        bytes.removeSubrange(..<firstKept)
        guard !bytes.isEmpty else { return nil }

        var name = String(decoding: bytes, as: UTF8.self)
        if bytes[0] >= UInt8(ascii: "0") && bytes[0] <= UInt8(ascii: "9") || isReserved(name) {
            name = escapePrefix + name
        }
        if name.utf8.count > maximumLength {
            name = String(name.utf8.prefix(maximumLength))!
        }
        return name
    }

    package static func isReserved(_ name: String) -> Bool {
        reservedNames.contains(name) || reservedPrefixes.contains { name.hasPrefix($0) }
    }

    /// Whether journald would store a field of this name.
    package static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= maximumLength else { return false }
        if first == UInt8(ascii: "_") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) { return false }
        return name.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "_")
        }
    }
}
