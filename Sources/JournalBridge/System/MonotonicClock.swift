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

    package static func deadline(after seconds: Double) -> UInt64 {
        now() &+ UInt64(max(0, seconds) * 1e9)
    }
}
