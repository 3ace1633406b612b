/// A shipper's session id as the sinks write it: 16 lowercase hex digits, leading zeros kept.
/// The one formatter of journald's `JB_SESSION` and the files' `%(session)s`, so that the key
/// docs/reliability.md tells readers to match is the same text in both.
enum SessionHex {
    /// Appends the 16 digits of `session` to `out`.
    @inline(__always)
    static func append(_ session: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 60, through: 0, by: -4) {
            let nibble = UInt8(truncatingIfNeeded: session >> UInt64(shift)) & 0xF
            out.append(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
        }
    }

    /// The 16 digits of `session`.
    static func string(_ session: UInt64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        append(session, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
