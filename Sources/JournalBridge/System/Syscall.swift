#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
