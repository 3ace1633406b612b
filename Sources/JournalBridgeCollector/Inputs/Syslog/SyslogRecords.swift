#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Logging

/// The one path from a syslog message's bytes to a record, shared by every syslog input:
/// parse, map with the kernel's origin, add the peer's address, count.
package enum SyslogRecords {
    /// The network peer's address (`192.0.2.1:514`), a field of the bridge's own: the
    /// message's HOSTNAME is only a claim.
    package static let peerField = "JB_SYSLOG_PEER"

    /// Origin of a network sender: no pid (0: no `JB_PID`, no `OBJECT_*`), and no uid or gid
    /// the kernel vouches for (`(uid_t)-1`, "no one", as chown(2) reads it).
    package static func networkOrigin(identifier: String) -> Origin {
        Origin(pid: 0, uid: UInt32.max, gid: UInt32.max, identifier: identifier)
    }

    /// The record of one message (a datagram or a frame): its bytes parsed, the kernel's
    /// `origin`, the network `peer` as `JB_SYSLOG_PEER`, and `droppedBytes` cut from it as its
    /// marker; `missingBytes`, what its octet count promised and the connection's close never
    /// brought, makes it malformed (counted so, and said in `JB_SYSLOG_ERROR`).
    package static func record(
        _ bytes: UnsafeRawBufferPointer, origin: Origin, peer: String?, droppedBytes: Int, missingBytes: Int = 0,
        receivedMicros: Int64, counters: SyslogCounters
    ) -> LogRecord {
        let layout = SyslogParser.layout(of: bytes)
        let record = SyslogRecordMapping.record(
            layout: layout, bytes: bytes, origin: origin, receivedMicros: receivedMicros, droppedBytes: droppedBytes,
            missingBytes: missingBytes, peer: peer)
        counters.messages.add(1, ordering: .relaxed)
        if layout.failure != nil || missingBytes > 0 { counters.parseFailures.add(1, ordering: .relaxed) }
        if droppedBytes > 0 {
            counters.cutMessages.add(1, ordering: .relaxed)
            counters.cutBytes.add(droppedBytes, ordering: .relaxed)
        }
        return record
    }
}
