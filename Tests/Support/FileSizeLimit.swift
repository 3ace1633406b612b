#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` with this process's file size limit (`RLIMIT_FSIZE`) at `bytes`, SIGXFSZ
/// ignored: a write past the limit is then cut short and the next fails with EFBIG, as a
/// full disk cuts one, for a test of what a sink does with a short write. Restored after.
public func withFileSizeLimit<T>(_ bytes: Int, _ body: () throws -> T) rethrows -> T {
    var saved = rlimit()
    getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
    let handler = signal(SIGXFSZ, SIG_IGN)
    var limited = saved
    limited.rlim_cur = rlim_t(bytes)
    setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limited)
    defer {
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, handler)
    }
    return try body()
}
