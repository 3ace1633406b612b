#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// File-system helpers the file sinks share.
package enum FileDescriptorIO {
    /// `mkdir -p` of the directory holding `path`, by `openDirectory`'s rules.
    static func createParentDirectory(of path: String, mode: mode_t = 0o755) throws(SystemError) {
        Glibc.close(try openDirectory(UnixSocket.parentDirectory(of: path), creating: mode))
    }

    /// Opens the directory at `path` (creating what is missing with `mode`, when given) for
    /// `openat`, one component at a time, never through a symbolic link another user owns.
    ///
    /// The daemon may run as root: resolved by path, a link planted by another user anywhere
    /// on the way (a `base` under a directory they may write, `/tmp` without
    /// `fs.protected_symlinks`) would send root's files into a directory of their choosing,
    /// such as `/etc/logrotate.d`, where a forged record becomes a configuration line. So a
    /// link is followed only if root or this process's user owns it (an administrator's
    /// `/var/log -> /srv/log` works), and the caller keeps the descriptor: what is renamed
    /// or swapped above the directory afterwards no longer moves where the files go.
    /// A refusal throws EPERM naming the link and its owner; the caller says what it was for.
    package static func openDirectory(_ path: String, creating mode: mode_t? = nil) throws(SystemError) -> Int32 {
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        let absolute = path.hasPrefix("/")
        var current = try syscall("open \(path)") { open(absolute ? "/" : ".", flags) }
        var shown = absolute ? "" : "."  // how far the walk got, for messages
        var pending = path.split(separator: "/").reversed().map(String.init)  // the next one last
        var links = 0
        var creations = 0
        do throws(SystemError) {
            while let name = pending.popLast() {
                if name == "." { continue }
                let here = current
                do {
                    let next = try syscall("open \(shown)/\(name)") { openat(here, name, flags) }
                    Glibc.close(current)
                    current = next
                    shown += "/" + name
                    continue
                } catch  where error.errno == ENOENT {
                    // Made here, then opened like any other (a race that made it first is as good);
                    // a name that keeps vanishing is not waited for.
                    guard let mode, creations < 8 else { throw error }
                    creations += 1
                    do {
                        try syscall("mkdir \(shown)/\(name)") { mkdirat(here, name, mode) }
                    } catch  where error.errno == EEXIST {}
                    pending.append(name)
                    continue
                } catch  where error.errno == ELOOP || error.errno == ENOTDIR {
                    // O_NOFOLLOW said "a link" (ELOOP), or the name is not a directory: see which.
                }
                var info = stat()
                try syscall("lstat \(shown)/\(name)") { fstatat(here, name, &info, AT_SYMLINK_NOFOLLOW) }
                guard info.st_mode & S_IFMT == S_IFLNK else {
                    throw SystemError(
                        call: "\(shown)/\(name) is \(kind(info.st_mode)), not a directory", errno: ENOTDIR)
                }
                guard info.st_uid == 0 || info.st_uid == geteuid() else {
                    throw SystemError(
                        call:
                            "\(shown)/\(name) is a symbolic link of uid \(info.st_uid), who could point it anywhere; name the directory itself",
                        errno: EPERM
                    )
                }
                links += 1
                guard links <= 40 else { throw SystemError(call: "open \(path)", errno: ELOOP) }
                var target = [UInt8](repeating: 0, count: Int(PATH_MAX))
                let length = try syscall("readlink \(shown)/\(name)") {
                    target.withUnsafeMutableBytes {
                        readlinkat(here, name, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count)
                    }
                }
                guard length < target.count, let destination = String(validating: target[..<length], as: UTF8.self)
                else {
                    throw SystemError(call: "\(shown)/\(name) points to a name too long or not UTF-8", errno: EINVAL)
                }
                pending.append(contentsOf: destination.split(separator: "/").reversed().map(String.init))
                // A relative target goes on from the directory holding the link, an absolute one from the root.
                if destination.hasPrefix("/") {
                    let root = try syscall("open /") { open("/", flags) }
                    Glibc.close(current)
                    current = root
                    shown = ""
                }
            }
        } catch {
            Glibc.close(current)
            throw error
        }
        return current
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
    /// whose text names the path and the reason. The file is `name` in the `directory`
    /// `openDirectory` opened (`path` is its name in messages): no link above it is followed.
    static func openForAppend(
        _ name: String, in directory: Int32, path: String, mode: mode_t
    ) throws(SystemError) -> (fd: Int32, size: Int) {
        let flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC
        var fd: Int32 = -1
        // Create it exclusively (O_EXCL never follows anything), else open what is there; the
        // name may come and go between the two calls, hence a few turns.
        for _ in 0..<3 where fd < 0 {
            do {
                fd = try syscall("open \(path)") { openat(directory, name, flags | O_CREAT | O_EXCL, mode & 0o755) }
            } catch  where error.errno == EEXIST {
                do {
                    fd = try syscall("open \(path)") { openat(directory, name, flags) }
                } catch  where error.errno == ENOENT {
                    continue
                } catch  where error.errno == ELOOP || error.errno == ENXIO || error.errno == EISDIR {
                    throw refusal(
                        path, "it is \(entryKind(name, in: directory)), not a regular file", errno: error.errno)
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

    /// What is at `name` (a link is named as such), for messages only: the decision was made
    /// on the descriptor or by the kernel.
    private static func entryKind(_ name: String, in directory: Int32) -> String {
        var info = stat()
        guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return "not openable" }
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

    /// Whether anything, even a dangling link, is at `name` in `directory` (never follows a link).
    static func exists(_ name: String, in directory: Int32) -> Bool {
        var info = stat()
        return fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0
    }
}
