/// Lowercase hexadecimal with leading zeros: the one hex writer of the sinks' formats.
enum Hex {
    /// Appends the low `digits` hex digits of `value` (leading zeros kept) to `out`.
    @inline(__always)
    static func append(_ value: UInt64, digits: Int, to out: inout [UInt8]) {
        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
            let nibble = UInt8(truncatingIfNeeded: value >> UInt64(shift)) & 0xF
            out.append(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
        }
    }

    /// A shipper's session id as the sinks write it: 16 digits. The one formatter of journald's
    /// `JB_SESSION` and the files' `%(session)s`, so that the key docs/reliability.md tells
    /// readers to match is the same text in both.
    @inline(__always)
    static func appendSession(_ session: UInt64, to out: inout [UInt8]) {
        append(session, digits: 16, to: &out)
    }
}
