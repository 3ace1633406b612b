#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

package enum MonotonicClock {
    @inline(__always)
    package static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// `seconds` after `start` (now); saturates at `UInt64.max` ("never"), so that a caller's
    /// `.infinity` or 1e300 waits as long as it says instead of trapping or wrapping to now.
    package static func deadline(after seconds: Double, from start: UInt64 = now()) -> UInt64 {
        let (sum, overflow) = start.addingReportingOverflow(nanoseconds(seconds))
        return overflow ? .max : sum
    }

    /// `seconds` as nanoseconds: NaN and negatives are 0, anything past `UInt64` is `UInt64.max`.
    package static func nanoseconds(_ seconds: Double) -> UInt64 {
        let value = seconds * 1e9
        guard value > 0 else { return 0 }  // NaN too
        return value < 18_446_744_073_709_549_568.0 ? UInt64(value) : .max  // the largest Double below 2^64
    }
}
