import JournalBridge

/// Keeps the collector's own warnings about clients from flooding the error file: a
/// client that breaks the protocol 20,000 times a second must not rotate a genuine
/// ERROR out of it.
///
/// Per interval (which starts at the first violation after a quiet one): the first
/// violation of a peer (pid, uid) is reported in full; later ones of that peer are
/// counted and summarised once when the interval ends ("N more violations from pid P
/// uid U in the last T s; last: <reason>"). At most `maxPeers` peers are reported one
/// by one per interval (a forking attacker has many pids); violations of further
/// peers are only counted, per uid, and summarised per uid; beyond `maxUIDs` uids, in
/// one last tally. Every violation is counted exactly once: in a full report or in
/// one summary. At most `maxPeers` + `maxPeers` + `maxUIDs` + 1 records an interval.
/// Owned by the collector's I/O thread.
struct DiagnosticsLimiter {
    /// What to log for an interval that ended.
    struct Summary {
        var message: String
        var metadata: [MetadataField]
    }

    private struct PeerTally {
        var more = 0
        var lastReason = ""
    }

    private struct GroupTally {
        var count = 0
        var lastPID: Int32 = 0
        var lastUID: UInt32 = 0
        var lastReason = ""

        mutating func add(pid: Int32, uid: UInt32, reason: String) {
            count += 1
            lastPID = pid
            lastUID = uid
            lastReason = reason
        }
    }

    static let maxPeers = 16
    static let maxUIDs = 16

    /// Nanoseconds; 0 reports every violation in full.
    let interval: UInt64
    private var started: UInt64?
    private var peers: [Peer: PeerTally] = [:]
    private var uids: [UInt32: GroupTally] = [:]
    private var others = GroupTally()

    struct Peer: Hashable {
        var pid: Int32
        var uid: UInt32
    }

    init(intervalSeconds: Double) {
        interval = MonotonicClock.nanoseconds(intervalSeconds)
    }

    /// Counts a violation of `peer`; true when it is to be reported in full now.
    mutating func admit(_ peer: Peer, reason: String, now: UInt64) -> Bool {
        guard interval > 0 else { return true }
        if started == nil { started = now }
        if var tally = peers[peer] {
            tally.more += 1
            tally.lastReason = reason
            peers[peer] = tally
            return false
        }
        if peers.count < Self.maxPeers {
            peers[peer] = PeerTally()
            return true
        }
        if uids[peer.uid] != nil || uids.count < Self.maxUIDs {
            uids[peer.uid, default: GroupTally()].add(pid: peer.pid, uid: peer.uid, reason: reason)
        } else {
            others.add(pid: peer.pid, uid: peer.uid, reason: reason)
        }
        return false
    }

    /// Monotonic time the current interval ends; nil when nothing is pending.
    var deadline: UInt64? { started.map { $0 &+ interval } }

    /// The summaries of the interval if it is over at `now` (all pending ones when `force`).
    mutating func expire(now: UInt64, force: Bool = false) -> [Summary] {
        guard let started, force || now &- started >= interval else { return [] }
        let seconds = Double(now &- started) / 1e9
        let span = seconds < 1 ? String(Double(Int(seconds * 10)) / 10) : String(Int(seconds))
        var summaries: [Summary] = []
        for (peer, tally) in peers.sorted(by: { ($0.key.uid, $0.key.pid) < ($1.key.uid, $1.key.pid) })
        where tally.more > 0 {
            summaries.append(
                Summary(
                    message:
                        "\(Self.violations(tally.more, "more ")) from pid \(peer.pid) uid \(peer.uid) in the last \(span) s; last: \(tally.lastReason)",
                    metadata: Self.fields(pid: peer.pid, uid: peer.uid, count: tally.more, reason: tally.lastReason)
                ))
        }
        for (uid, tally) in uids.sorted(by: { $0.key < $1.key }) {
            summaries.append(
                Summary(
                    message:
                        "\(Self.violations(tally.count)) from further processes of uid \(uid) in the last \(span) s"
                        + " (more than \(Self.maxPeers) peers); last: pid \(tally.lastPID): \(tally.lastReason)",
                    metadata: Self.fields(pid: tally.lastPID, uid: uid, count: tally.count, reason: tally.lastReason)
                ))
        }
        if others.count > 0 {
            summaries.append(
                Summary(
                    message: "\(Self.violations(others.count)) from processes of further uids in the last \(span) s"
                        + " (more than \(Self.maxUIDs) uids); last: pid \(others.lastPID) uid \(others.lastUID): \(others.lastReason)",
                    metadata: Self.fields(
                        pid: others.lastPID, uid: others.lastUID, count: others.count, reason: others.lastReason)
                ))
        }
        self.started = nil
        peers.removeAll()
        uids.removeAll()
        others = GroupTally()
        return summaries
    }

    private static func violations(_ count: Int, _ more: String = "") -> String {
        "\(count) \(more)violation\(count == 1 ? "" : "s")"
    }

    private static func fields(pid: Int32, uid: UInt32, count: Int, reason: String) -> [MetadataField] {
        [
            MetadataField("peer.pid", String(pid)),
            MetadataField("peer.uid", String(uid)),
            MetadataField("violations", String(count)),
            MetadataField("reason", reason),
        ]
    }
}
