#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// Who sent a record, as the counters and the rate limit see it: the uid (from SO_PEERCRED),
/// the systemd unit its process runs in (from /proc/PID/cgroup, when it has one) and the
/// identifier its hello named.
package struct SourceKey: Hashable, Sendable, Comparable {
    package var uid: UInt32
    package var unit: String?
    package var identifier: String

    package init(uid: UInt32, unit: String?, identifier: String) {
        self.uid = uid
        self.unit = unit
        self.identifier = identifier
    }

    /// Every source past the table's bound is counted under this one.
    package static let other = SourceKey(uid: UInt32.max, unit: nil, identifier: "(other sources)")

    /// How the rate limit tells sources apart (`rate_limit_key`): the unit when known (else the
    /// uid), the uid alone, or the uid and the identifier.
    package func limitKey(_ by: RateLimit.Key) -> String {
        switch by {
        case .unit: unit.map { "unit \($0)" } ?? "uid \(uid)"
        case .uid: "uid \(uid)"
        case .identifier: "uid \(uid) identifier \(identifier)"
        }
    }

    package static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.uid, lhs.unit ?? "", lhs.identifier) < (rhs.uid, rhs.unit ?? "", rhs.identifier)
    }

    /// The systemd unit `pid` runs in, from the last `.service`/`.scope` component of its
    /// cgroup path (at most 4 KiB read); nil when it has none or the process is gone.
    package static func unit(ofProcess pid: Int32) -> String? {
        let fd = open("/proc/\(pid)/cgroup", O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }  // read-only: nothing to lose if close fails
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let text = String(decoding: bytes[0..<n], as: UTF8.self)
        for line in text.split(separator: "\n") {
            // cgroup v2: "0::/system.slice/foo.service"; v1 lines name the same path per controller.
            guard let path = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).last else { continue }
            for component in path.split(separator: "/").reversed()
            where component.hasSuffix(".service") || component.hasSuffix(".scope") {
                return String(component.prefix(256))
            }
        }
        return nil
    }
}
