/// A number's decimal digits without a String on the way: the journald sink's numeric fields,
/// the forward sink's message (PRI, PROCID, the SD's numbers) and RELP's and RFC 6587's
/// lengths. Written from the last digit, two per division (`pairs`), into 24 bytes on the
/// stack (room for the 20 digits of `UInt64.max`). The one home of the trick.
enum DecimalDigits {
    /// "00" to "99", back to back.
    private static let pairs: [UInt8] = {
        var pairs: [UInt8] = []
        for value in 0..<100 {
            pairs.append(UInt8(ascii: "0") + UInt8(value / 10))
            pairs.append(UInt8(ascii: "0") + UInt8(value % 10))
        }
        return pairs
    }()

    /// Calls `body` with the digits of `value` (valid only during the call).
    @inline(__always)
    static func withDigits<R>(_ value: UInt64, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var storage: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &storage) { raw in
            var rest = value
            var index = raw.count
            // Constant divisors: the compiler makes them multiplications.
            pairs.withUnsafeBufferPointer { pairs in
                while rest >= 100 {
                    let pair = Int(truncatingIfNeeded: rest % 100) &* 2
                    rest /= 100
                    index -= 2
                    raw[index] = pairs[pair]
                    raw[index + 1] = pairs[pair + 1]
                }
                if rest >= 10 {
                    let pair = Int(truncatingIfNeeded: rest) &* 2
                    index -= 2
                    raw[index] = pairs[pair]
                    raw[index + 1] = pairs[pair + 1]
                } else {
                    index -= 1
                    raw[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest)
                }
            }
            return body(UnsafeRawBufferPointer(rebasing: raw[index...]))
        }
    }
}
