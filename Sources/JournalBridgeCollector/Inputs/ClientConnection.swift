import JournalBridge
import Synchronization

/// What the collector remembers of one shipper across its reconnects.
final class ClientSession: Sendable {
    struct Progress {
        /// Highest sequence handed to the sinks: resent records at or below it are duplicates.
        var routed: UInt64 = 0
        /// Highest sequence every sink has written: what acks report.
        var stored: UInt64 = 0
        /// False until the first batch: a session the collector never saw (new, or the
        /// collector restarted) takes its baseline from its first record.
        var started = false
    }

    /// Who opened it (from SO_PEERCRED) and the id its hello named.
    let key: SessionTable.Key
    let progress = ConditionLock(Progress())

    init(key: SessionTable.Key) { self.key = key }

    var id: UInt64 { key.id }
}

/// One accepted connection, owned by the collector's I/O thread.
final class ClientConnection {
    let fd: Int32
    let peer: (pid: Int32, uid: UInt32, gid: UInt32)
    var decoder = FrameDecoder()
    /// Its share of the collector's memory budget (BridgeLoop's read path).
    var memory = ConnectionMemory()
    var session: ClientSession?
    var origin: Origin
    /// Highest sequence already acknowledged on this connection.
    var ackSent: UInt64 = 0
    var received = 0

    init(fd: Int32, peer: (pid: Int32, uid: UInt32, gid: UInt32)) {
        self.fd = fd
        self.peer = peer
        self.origin = Origin(pid: peer.pid, uid: peer.uid, gid: peer.gid, identifier: "")
        // Now, while the peer is alive: journald could only look it up when each entry arrives.
        self.origin.identity = PeerIdentity.capture(pid: peer.pid, uid: peer.uid, gid: peer.gid)
    }

    var describe: String {
        "pid \(peer.pid) uid \(peer.uid)" + (origin.identifier.isEmpty ? "" : " (\(origin.identifier))")
    }
}
