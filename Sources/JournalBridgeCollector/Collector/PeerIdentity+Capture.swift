#if canImport(Glibc)
import Glibc
#endif
import CJournalBridgeShims
import JournalBridge

extension PeerIdentity {
    /// Reads a just-connected peer's facts: `comm`, `exe` and the cgroup from `/proc/<pid>`,
    /// the unit's invocation id from its cgroup. Called at accept, while the peer is alive
    /// (a worker that exits right after sending is still attributed to its unit).
    ///
    /// Everything read is only a description of the peer, never trusted for anything else;
    /// each part that cannot be read is left out. When `/proc/<pid>` is gone or belongs to
    /// another uid than SO_PEERCRED's (the peer exited and its pid was reused, or it is not
    /// dumpable), only the kernel's uid and gid are kept: better no unit than a wrong one.
    package static func capture(pid: Int32, uid: UInt32, gid: UInt32, proc: String = "/proc") -> PeerIdentity {
        guard pid > 0,
            let directory = try? syscall(
                "open \(proc)/\(pid)", { open("\(proc)/\(pid)", O_RDONLY | O_DIRECTORY | O_CLOEXEC) })
        else {
            return PeerIdentity(uid: uid, gid: gid)
        }
        // Closing a read-only directory descriptor cannot lose anything.
        defer { _ = close(directory) }
        var info = stat()
        guard fstat(directory, &info) == 0, info.st_uid == uid else { return PeerIdentity(uid: uid, gid: gid) }
        let comm = readSmallFile(at: directory, "comm", limit: 64).map(trimmedLine)
        let exe = readLink(at: directory, "exe")
        // "0::/system.slice/app.service": the cgroup v2 line. A path outside this cgroup
        // namespace reads "/.."; it names nothing here.
        let cgroup = readSmallFile(at: directory, "cgroup", limit: 16384)?
            .split(separator: "\n").first { $0.hasPrefix("0::/") }
            .map { String($0.dropFirst(3)) }
            .flatMap { $0.split(separator: "/").contains("..") ? nil : $0 }
        var invocationID: String?
        if let cgroup {
            let units = PeerIdentity.units(ofCgroup: cgroup)
            if let innermost = units.userUnit ?? units.unit {
                let components = cgroup.split(separator: "/")
                if let index = components.lastIndex(where: { $0 == innermost }) {
                    invocationID = Self.invocationID(ofCgroup: "/" + components[...index].joined(separator: "/"))
                }
            }
        }
        return PeerIdentity(uid: uid, gid: gid, comm: comm, exe: exe, cgroup: cgroup, invocationID: invocationID)
    }

    /// systemd stores a unit's invocation id on its cgroup as `trusted.invocation_id` (readable
    /// with CAP_SYS_ADMIN only) and, since v250, as `user.invocation_id` too: 32 hex digits.
    static func invocationID(ofCgroup path: String) -> String? {
        // cgroup v2 alone, or the hybrid layout's v2 tree.
        for mount in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
            for name in ["user.invocation_id", "trusted.invocation_id"] {
                var value = [UInt8](repeating: 0, count: 64)
                let count = value.withUnsafeMutableBytes { c_jb_getxattr(mount + path, name, $0.baseAddress, $0.count) }
                guard count > 0 else { continue }  // no such attribute, or not allowed: try the next
                let text = String(decoding: value[..<count], as: UTF8.self)
                if text.utf8.count == 32, text.utf8.allSatisfy(isLowercaseHexDigit) {
                    return text
                }
            }
        }
        return nil
    }

    private static func isLowercaseHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
    }

    private static func trimmedLine(_ text: String) -> String {
        text.hasSuffix("\n") ? String(text.dropLast()) : text
    }

    /// A short /proc file, read with one or a few reads; nil when it cannot be opened or read.
    private static func readSmallFile(at directory: Int32, _ name: String, limit: Int) -> String? {
        guard let fd = try? syscall("openat \(name)", { openat(directory, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) })
        else { return nil }
        defer { _ = close(fd) }  // read-only: nothing to lose on close
        var bytes = [UInt8](repeating: 0, count: limit)
        var used = 0
        while used < limit {
            guard
                let count = try? syscall(
                    "read \(name)", { bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + used, limit - used) } })
            else { return nil }
            if count == 0 { break }
            used += count
        }
        return String(decoding: bytes[..<used], as: UTF8.self)
    }

    private static func readLink(at directory: Int32, _ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        // EACCES for another uid's process without CAP_SYS_PTRACE: the exe is then unknown.
        guard
            let count = try? syscall("readlinkat \(name)", { readlinkat(directory, name, &buffer, buffer.count - 1) }),
            count > 0
        else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
