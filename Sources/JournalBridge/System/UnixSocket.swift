import CJournalBridgeShims
#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers over the Unix stream socket calls both ends use. Every one goes
/// through `syscall`, so EINTR is retried and failures carry errno.
package enum UnixSocket {
    package static func connect(path: String) throws(SystemError) -> Int32 {
        let fd = try syscall("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            try syscall("connect \(path)") { c_jb_connect_unix(fd, path) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Binds and listens at `path`, non-blocking. A socket file left by a dead
    /// collector is replaced; a live one (something answers) is an error.
    package static func listen(path: String, backlog: Int32 = 1024) throws(SystemError) -> Int32 {
        removeStaleSocket(at: path)
        let fd = try syscall("socket") {
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        }
        do {
            try syscall("bind \(path)") { c_jb_bind_unix(fd, path) }
            try syscall("listen \(path)") { Glibc.listen(fd, backlog) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Unlinks `path` only if it is a socket nobody listens on.
    package static func removeStaleSocket(at path: String) {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK else { return }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { return }
        defer { close(probe) }
        if c_jb_connect_unix(probe, path) != 0 && errno == ECONNREFUSED {
            unlink(path)
        }
    }

    package static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    /// Sets SO_SNDTIMEO / SO_RCVTIMEO so a blocking call returns EAGAIN after `seconds`.
    package static func setTimeout(_ fd: Int32, option: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        _ = setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    package static func peerCredentials(_ fd: Int32) throws(SystemError) -> (pid: Int32, uid: UInt32, gid: UInt32) {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        try syscall("getsockopt SO_PEERCRED") { c_jb_peer_credentials(fd, &pid, &uid, &gid) }
        return (pid, uid, gid)
    }
}
