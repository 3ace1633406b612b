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
