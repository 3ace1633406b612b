#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// File-system helpers the file sinks share.
package enum FileDescriptorIO {
    /// `mkdir -p` of the directory holding `path`.
    static func createParentDirectory(of path: String, mode: mode_t = 0o755) throws(SystemError) {
        var components = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        guard !components.isEmpty else { return }
        var current = path.hasPrefix("/") ? "" : "."
        if components.first == "" { components = components.dropFirst() }
        for component in components where !component.isEmpty {
            current += "/" + component
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw SystemError(call: "mkdir \(current)", errno: errno)
            }
        }
    }

    /// Opens a log file for appending, creating it (and its directory) if missing, and only
    /// if it is safe for a daemon that may run as root to write there. The base directory may
    /// be writable by others (issue 9: a link to a root-only file got appended to, a FIFO hung
    /// the collector, a file another user made received root's records), so:
    /// - O_NOFOLLOW: a symbolic link at the path is refused, never followed (also when the
    ///   name is created afresh after a rotation);
    /// - O_NONBLOCK: opening a FIFO never waits for a reader, so a FIFO is refused at once
    ///   (ENXIO without a reader, fstat with one); O_NOCTTY: a terminal never becomes ours;
    /// - fstat of what was opened (not of the path, which may change meanwhile): only a regular
    ///   file with one link, owned by this process's effective uid, not writable by group or
    ///   others. A file another user owns, or may write, is one they can read, truncate or fill
    ///   with forged records; a second hard link may be someone else's file linked in.
    /// A new file is created with `mode` less the group's and others' write bits (and the umask).
    /// Then O_NONBLOCK is cleared and the descriptor used. A refusal throws a `SystemError`
    /// whose text names the path and the reason.
    static func openForAppend(_ path: String, mode: mode_t) throws(SystemError) -> (fd: Int32, size: Int) {
        try createParentDirectory(of: path)
        let flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC
        var fd: Int32 = -1
        // Create it exclusively (O_EXCL never follows anything), else open what is there; the
        // name may come and go between the two calls, hence a few turns.
        for _ in 0..<3 where fd < 0 {
            do {
                fd = try syscall("open \(path)") { open(path, flags | O_CREAT | O_EXCL, mode & 0o755) }
            } catch  where error.errno == EEXIST {
                do {
                    fd = try syscall("open \(path)") { open(path, flags) }
                } catch  where error.errno == ENOENT {
                    continue
                } catch  where error.errno == ELOOP || error.errno == ENXIO || error.errno == EISDIR {
                    throw refusal(path, "it is \(entryKind(path)), not a regular file", errno: error.errno)
                }
            }
        }
        guard fd >= 0 else { throw SystemError(call: "open \(path): it keeps appearing and vanishing", errno: EAGAIN) }
        do throws(SystemError) {
            var info = stat()
            try syscall("fstat \(path)") { fstat(fd, &info) }
            if let problem = logFileProblem(info) { throw refusal(path, problem.reason, errno: problem.errno) }
            let status = try syscall("fcntl \(path)") { fcntl(fd, F_GETFL) }
            try syscall("fcntl \(path)") { fcntl(fd, F_SETFL, status & ~O_NONBLOCK) }
            return (fd, Int(info.st_size))
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    package static func refusal(_ path: String, _ reason: String, errno: Int32) -> SystemError {
        SystemError(call: "refusing log file \(path): \(reason)", errno: errno)
    }

    /// What is at `path` (lstat: a link is named as such), for messages only: the decision
    /// was made on the descriptor or by the kernel.
    private static func entryKind(_ path: String) -> String {
        var info = stat()
        guard lstat(path, &info) == 0 else { return "not openable" }
        return kind(info.st_mode)
    }

    /// Why a log file with this status must not be written, nil when it may: only a regular file
    /// with one link, owned by this process's effective uid, not writable by group or others.
    /// The one rule, used by `openForAppend` on the opened descriptor and by the configuration
    /// check (`check-config`, `collect` before it starts) on the path.
    package static func logFileProblem(_ info: stat) -> (reason: String, errno: Int32)? {
        if (info.st_mode & S_IFMT) != S_IFREG {
            return ("it is \(kind(info.st_mode)), not a regular file", EINVAL)
        }
        if info.st_uid != geteuid() {
            // Left by another user's run (by hand, or an older package's): say the way out.
            return (
                "it belongs to uid \(info.st_uid), not to this process's uid \(geteuid()); if it is yours, chown \(geteuid()) it, or move it aside",
                EPERM
            )
        }
        if info.st_mode & 0o022 != 0 {
            let octal = String(info.st_mode & 0o7777, radix: 8)
            return (
                "it is writable by group or others (mode 0\(octal)): they could truncate it or forge records", EPERM
            )
        }
        if info.st_nlink > 1 {
            return ("it has \(info.st_nlink) hard links (another file may be linked in)", EMLINK)
        }
        return nil
    }

    /// "a FIFO", "a symbolic link", ...: the kind of file a mode names, for messages.
    package static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFDIR: "a directory"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFREG: "a regular file"
        default: "an unknown kind of file"
        }
    }

    /// Whether anything, even a dangling link, is at `path` (lstat: never follows a link).
    static func exists(_ path: String) -> Bool { var info = stat(); return lstat(path, &info) == 0 }
}
