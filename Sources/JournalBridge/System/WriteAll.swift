#if canImport(Glibc)
import Glibc
#endif

/// Writes all of `bytes` to `fd`, resuming after short writes (EINTR retried by `syscall`):
/// the one write-all loop of the package. `socket`: with `send(MSG_NOSIGNAL)`, so that a peer
/// that went away is an EPIPE error, never a SIGPIPE killing the process.
package func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, socket: Bool = false) throws(SystemError) {
    var offset = 0
    while offset < bytes.count {
        let start = bytes.baseAddress! + offset
        let length = bytes.count - offset
        let n = try syscall(socket ? "send" : "write") {
            socket ? send(fd, start, length, Int32(MSG_NOSIGNAL)) : write(fd, start, length)
        }
        // 0 bytes for a non-empty write: nothing more will go (a full device that reports no error).
        guard n > 0 else { throw SystemError(call: socket ? "send" : "write", errno: EIO) }
        offset += n
    }
}

/// Writes all of `bytes` (see the other `writeAll`). (Typed throws cannot cross
/// `withUnsafeBytes` without crashing swiftc 6.3: the error is carried out instead.)
package func writeAll(_ fd: Int32, _ bytes: [UInt8], socket: Bool = false) throws(SystemError) {
    let failure: SystemError? = bytes.withUnsafeBytes { raw in
        do throws(SystemError) {
            try writeAll(fd, raw, socket: socket)
            return nil
        } catch { return error }
    }
    if let failure { throw failure }
}
