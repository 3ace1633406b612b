import JournalBridge

/// The identities of a datagram socket's senders (`PeerIdentity.capture`), kept per the
/// kernel's pid, uid and gid of each datagram (`SCM_CREDENTIALS`) and read again once they
/// are `refreshInterval` old, as journald refreshes its own per-pid cache.
///
/// A datagram has no connection to read the sender's facts once for: without this, its
/// journald entry named the sender by `OBJECT_PID` alone, and journald looked `/proc/<pid>`
/// up when the entry arrived — too late for a sender that had exited (`logger` does at once),
/// and some `OBJECT_*` fields more per entry for journald to store than the stream inputs send.
/// Owned by one input thread: no lock.
///
/// Bounded: at `capacity` senders, those older than `refreshInterval` are forgotten, and all
/// of them if none is (a flood of short-lived senders costs a `/proc` read each, never memory).
package struct PeerIdentityCache {
    package static let refreshInterval: UInt64 = 1_000_000_000
    package static let capacity = 1024

    private struct Key: Hashable {
        var pid: Int32
        var uid: UInt32
        var gid: UInt32
    }

    private var entries: [Key: (identity: PeerIdentity, readAt: UInt64)] = [:]
    private let read: (Int32, UInt32, UInt32) -> PeerIdentity

    /// `read` stands in for `PeerIdentity.capture` in tests.
    package init(
        read: @escaping (Int32, UInt32, UInt32) -> PeerIdentity = { PeerIdentity.capture(pid: $0, uid: $1, gid: $2) }
    ) {
        self.read = read
    }

    /// The sender's identity, read from `/proc` when not known or `refreshInterval` old at `now`.
    package mutating func identity(pid: Int32, uid: UInt32, gid: UInt32, now: UInt64) -> PeerIdentity {
        let key = Key(pid: pid, uid: uid, gid: gid)
        if let known = entries[key], now &- known.readAt < Self.refreshInterval { return known.identity }
        if entries.count >= Self.capacity && entries[key] == nil {
            entries = entries.filter { now &- $0.value.readAt < Self.refreshInterval }
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        }
        let identity = read(pid, uid, gid)
        entries[key] = (identity, now)
        return identity
    }

    /// How many senders are held.
    package var count: Int { entries.count }
}
