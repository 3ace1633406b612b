import JournalBridge

/// Who sent a record, as the counters and the rate limit see it: the uid (from SO_PEERCRED),
/// the systemd unit its process runs in (`PeerIdentity`, read from its cgroup at connect) and
/// the identifier its hello named.
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
    /// uid), the uid alone, or the uid and the identifier. A network sender has neither uid nor
    /// unit (uid `UInt32.max`, its identifier its address): it is its address whatever the key,
    /// or one host's flood used up every other host's allowance.
    package func limitKey(_ by: RateLimit.Key) -> String {
        if uid == UInt32.max { return "peer \(identifier)" }
        switch by {
        case .unit: return unit.map { "unit \($0)" } ?? "uid \(uid)"
        case .uid: return "uid \(uid)"
        case .identifier: return "uid \(uid) identifier \(identifier)"
        }
    }

    package static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.uid, lhs.unit ?? "", lhs.identifier) < (rhs.uid, rhs.unit ?? "", rhs.identifier)
    }
}
