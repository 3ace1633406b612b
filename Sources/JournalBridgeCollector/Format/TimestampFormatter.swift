#if canImport(Glibc)
import Glibc
#endif

/// `2026-11-24 19:03:12,345` in local time, like Python's `%(asctime)s`.
/// The date and time part is computed once per second, not per record:
/// `localtime_r` and Foundation's formatters are far too slow for the hot path.
struct TimestampFormatter {
    private var cachedSecond: Int64 = .min
    private var cachedPrefix: [UInt8] = []

    /// A time in microseconds as whole seconds (rounded down, before 1970 too) and the
    /// microseconds after them (0 ... 999,999). Any 64-bit time: a worker may send one
    /// (`micros - 999_999` overflowed, and trapped, for the lowest ones).
    static func split(micros: Int64) -> (second: Int64, fraction: Int) {
        let second = micros / 1_000_000
        let fraction = Int(micros % 1_000_000)
        return fraction < 0 ? (second - 1, fraction + 1_000_000) : (second, fraction)
    }

    mutating func append(micros: Int64, to out: inout [UInt8]) {
        let (second, fraction) = Self.split(micros: micros)
        if second != cachedSecond {
            cachedSecond = second
            cachedPrefix = Self.format(second: second)
        }
        out.append(contentsOf: cachedPrefix)
        let millis = fraction / 1000
        out.append(UInt8(ascii: ","))
        out.append(UInt8(48 + millis / 100))
        out.append(UInt8(48 + millis / 10 % 10))
        out.append(UInt8(48 + millis % 10))
    }

    private static func format(second: Int64) -> [UInt8] {
        var t = time_t(second)
        var parts = tm()
        localtime_r(&t, &parts)
        var out: [UInt8] = []
        out.reserveCapacity(19)
        func two(_ v: Int32) {
            out.append(UInt8(48 + v / 10 % 10))
            out.append(UInt8(48 + v % 10))
        }
        let year = Int(parts.tm_year) + 1900
        out.append(contentsOf: Array(String(year).utf8))
        out.append(UInt8(ascii: "-"))
        two(parts.tm_mon + 1)
        out.append(UInt8(ascii: "-"))
        two(parts.tm_mday)
        out.append(UInt8(ascii: " "))
        two(parts.tm_hour)
        out.append(UInt8(ascii: ":"))
        two(parts.tm_min)
        out.append(UInt8(ascii: ":"))
        two(parts.tm_sec)
        return out
    }
}
