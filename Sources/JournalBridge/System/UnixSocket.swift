import CJournalBridgeShims
#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers over the Unix stream socket calls both ends use. Every one goes
/// through `syscall`, so EINTR is retried and failures carry errno.
package enum UnixSocket {
    /// Connects to the stream socket at `path`. `timeout`: seconds a connect may wait, and every
    /// send after it (SO_SNDTIMEO, which Linux applies to connect too): a listener whose backlog
    /// is full (a collector stopped with SIGSTOP, or hung) makes a blocking connect wait for ever.
    package static func connect(path: String, timeout: Double? = nil) throws(SystemError) -> Int32 {
        let fd = try syscall("socket") {
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            if let timeout { try setTimeout(fd, option: SO_SNDTIMEO, seconds: timeout) }
            try syscall("connect \(path)") { c_jb_connect_unix(fd, path) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Binds and listens at `path`, non-blocking. A socket file left by a dead
    /// collector is replaced (in a shared directory only one of this user's:
    /// `removeStaleSocket`); a live one (something answers) is an error.
    ///
    /// `mode` (permission bits) and `group` are given to the socket file without a
    /// path-based chmod/chown, which would follow a link renamed over the socket between
    /// bind and chmod (the race made a root collector chmod a 0600 file to 0666):
    /// the file is created with `mode` by binding under a umask of its complement, on a
    /// thread of its own (see `c_jb_bind_unix_mode`: the process's umask is untouched, which
    /// matters to a collector embedded in a larger program); the group is set through an
    /// O_PATH|O_NOFOLLOW descriptor of the entry, after fstat shows it is still a socket of
    /// ours with one link, else the start fails. (fchmod before bind would not do: bind masks
    /// the socket's mode with the umask anyway.) A directory that others may write without
    /// the sticky bit is refused: anyone could replace the socket and receive the records.
    /// `type` SOCK_DGRAM binds a datagram socket the same way (nothing to listen on).
    package static func listen(
        path: String, mode: mode_t? = nil, group: gid_t? = nil, backlog: Int32 = 1024,
        type: Int32 = Int32(SOCK_STREAM.rawValue)
    ) throws(SystemError) -> Int32 {
        try checkDirectory(of: path)
        try removeStaleSocket(at: path, type: type)
        let fd = try syscall("socket") {
            socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        }
        do {
            if let mode {
                try syscall("bind \(path)") { c_jb_bind_unix_mode(fd, path, mode) }
            } else {
                try syscall("bind \(path)") { c_jb_bind_unix(fd, path) }
            }
            if let group { try setGroup(of: path, to: group) }
            if type == Int32(SOCK_STREAM.rawValue) { try syscall("listen \(path)") { Glibc.listen(fd, backlog) } }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// The directory `path` is in ("." for a bare name): the one home of that split.
    package static func parentDirectory(of path: String) -> String {
        path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
    }

    /// Why `path` (and `path` + `suffix`, a second socket beside it) cannot be a Unix socket's
    /// address, or nil: the one home of the length rule, for every socket path a key or flag names.
    package static func pathProblem(_ path: String, suffix: String = "") -> String? {
        let limit = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1 - suffix.utf8.count
        guard path.utf8.count > limit else { return nil }
        let with = suffix.isEmpty ? "" : " (and \(path)\(suffix), the control channel's)"
        return "\(path) is \(path.utf8.count) bytes; a Unix socket path holds at most \(limit)\(with)"
    }

    /// Refuses a socket directory writable by others without the sticky bit (a world-writable
    /// /tmp-like directory must be sticky, as /tmp is), or owned by another user than this
    /// one or root: its owner could replace the socket and receive the records.
    package static func checkDirectory(of path: String) throws(SystemError) {
        let directory = parentDirectory(of: path)
        var info = stat()
        guard stat(directory, &info) == 0 else { return }  // missing: bind reports it, naming the path
        if info.st_mode & S_IWOTH != 0 && info.st_mode & S_ISVTX == 0 {
            throw SystemError(
                call:
                    "refusing to listen at \(path): \(directory) is writable by others and not sticky (anyone could replace the socket)",
                errno: EPERM
            )
        }
        if info.st_uid != geteuid() && info.st_uid != 0 {
            throw SystemError(
                call:
                    "refusing to listen at \(path): \(directory) belongs to uid \(info.st_uid), not to this user or root (its owner could replace the socket)",
                errno: EPERM
            )
        }
    }

    /// chown of the entry just bound, never through a link (see `listen`).
    private static func setGroup(of path: String, to group: gid_t) throws(SystemError) {
        let entry = try syscall("open \(path)") { c_jb_open_entry(path) }
        defer { close(entry) }
        var info = stat()
        try syscall("fstat \(path)") { fstat(entry, &info) }
        guard (info.st_mode & S_IFMT) == S_IFSOCK, info.st_uid == geteuid(), info.st_nlink == 1 else {
            throw SystemError(call: "refusing to set the group of \(path): it was replaced after bind", errno: EPERM)
        }
        if info.st_gid != group {
            try syscall("chown \(path)") { c_jb_fchown_entry(entry, uid_t.max, group) }
        }
    }

    /// Unlinks `path` only if it is a socket nobody listens on and, in a directory others may
    /// write (sticky, as /tmp: `checkDirectory` refuses any other), one of this user's: there
    /// another user's socket is not ours to take the name of, dead or alive, and the error says
    /// whose it is (bind would only say "Address already in use"). In a directory only its
    /// owner (this user or root) may write, whoever made the socket was let in by the owner:
    /// systemd's `SocketUser=journal-bridge` leaves such a socket behind at stop.
    package static func removeStaleSocket(
        at path: String, type: Int32 = Int32(SOCK_STREAM.rawValue)
    ) throws(SystemError) {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK else { return }
        // Non-blocking: a listener whose backlog is full (a collector stopped, or hung) answers
        // EAGAIN, alive, instead of holding this start for ever.
        let probe = socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard probe >= 0 else { return }  // no probe, no removal: bind then says what is there
        defer { close(probe) }
        guard c_jb_connect_unix(probe, path) != 0 && errno == ECONNREFUSED else { return }
        var directory = stat()
        let shared = stat(parentDirectory(of: path), &directory) == 0 && directory.st_mode & S_IWOTH != 0
        guard info.st_uid == geteuid() || !shared else {
            throw SystemError(
                call: "refusing to replace \(path): a socket of uid \(info.st_uid) that nobody listens on", errno: EPERM
            )
        }
        // A failure shows at bind, which names the path.
        _ = unlink(path)
    }

    package static func setNonBlocking(_ fd: Int32) throws(SystemError) {
        let flags = try syscall("fcntl F_GETFL") { fcntl(fd, F_GETFL) }
        try syscall("fcntl F_SETFL") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Sets SO_SNDTIMEO / SO_RCVTIMEO so a blocking call returns EAGAIN after `seconds`.
    package static func setTimeout(_ fd: Int32, option: Int32, seconds: Double) throws(SystemError) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        try syscall("setsockopt") { setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size)) }
    }

    /// When a loop that polls a listener may accept again after accept(2) failed with `code`:
    /// out of descriptors, buffers or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), 100 ms after
    /// `now` (the listener stays readable and the connections wait in the backlog: polled at
    /// once, the loop would spin); after anything else (EAGAIN: none left), `now`.
    package static func acceptAgain(after code: Int32, now: UInt64) -> UInt64 {
        code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM ? now &+ 100_000_000 : now
    }

    /// The path a listening Unix socket is bound at (`getsockname`), nil for another kind of
    /// socket or an abstract one: how a socket systemd passed is found on disk.
    package static func boundPath(_ fd: Int32) -> String? {
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        // sun_path was zeroed: the path ends at the first NUL; an abstract one starts with it.
        guard bound == 0, address.sun_family == sa_family_t(AF_UNIX), address.sun_path.0 != 0 else { return nil }
        return withUnsafeBytes(of: address.sun_path) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    package static func peerCredentials(_ fd: Int32) throws(SystemError) -> (pid: Int32, uid: UInt32, gid: UInt32) {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        try syscall("getsockopt SO_PEERCRED") { c_jb_peer_credentials(fd, &pid, &uid, &gid) }
        return (pid, uid, gid)
    }
}
