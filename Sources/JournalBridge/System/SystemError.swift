#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: which one, and the errno it left.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The call that failed, with what it acted on (`open /var/log/app_error.log`).
    public var call: String
    /// The errno it left.
    public var errno: Int32

    /// The failure of `call` with `errno`.
    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// `call: strerror (errno N)`.
    public var description: String {
        "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// Runs a system call, retrying while it fails with EINTR; any other failure
/// throws a `SystemError` carrying errno. The one place that knows the -1/errno dance.
@discardableResult
@inline(__always)
package func syscall<T: FixedWidthInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(SystemError) -> T
{
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemError(call: name(), errno: code)
    }
}

/// Diagnostics of the bridge itself, straight to fd 2 (never through a logger: that could loop).
package enum StandardError {
    package static func write(_ text: String) {
        // Nowhere to report a failure to write to stderr: it is dropped.
        try? writeAll(2, Array(text.utf8))
    }
}
