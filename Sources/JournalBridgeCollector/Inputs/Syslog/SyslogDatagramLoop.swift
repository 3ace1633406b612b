import CJournalBridgeShims
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Synchronization

/// The thread of a datagram input (`SyslogSocketInput`); what it touches is its own, or thread-safe.
///
/// Syslog over datagrams: a Unix datagram socket (the way `/dev/log` works, each message
/// with its sender's pid/uid/gid from the kernel, `SCM_CREDENTIALS`) or UDP (the peer's
/// address). One datagram is one message; one longer than `maximumMessageBytes` is cut there
/// (`MSG_TRUNC` tells its real length) with a visible marker and counted.
///
/// Delivery: nothing is acknowledged to a datagram sender. While the sinks keep up, every
/// datagram the kernel queued is stored. When they back up, this input's thread waits in
/// `route` and stops reading: a Unix datagram sender then blocks on the full queue (or gets
/// EAGAIN if it asked not to block); for UDP the kernel drops what does not fit the receive
/// queue, and `SO_RXQ_OVFL` tells us how many: counted, and reported through the sinks.
final class SyslogDatagramLoop: SyslogLoop, @unchecked Sendable {
    func run() {
        var buffer = [UInt8](repeating: 0, count: settings.maximumMessageBytes)
        var info = c_jb_datagram_info()
        var dropReport = GrowthReport()
        var identities = PeerIdentityCache()
        var failure: Int32 = 0
        var stopping = false
        while true {
            var fds = [
                pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
            ]
            // poll fails only with EINTR (retried next turn) or ENOMEM; a timeout lets the drop report go out.
            _ = poll(&fds, 2, stopping ? 0 : 1000)
            if fds[1].revents != 0 { stopping = true }
            var records: [LogRecord] = []
            var sources: [SourceKey] = []
            var drained = false
            var held = 0
            while records.count < Self.batch && held < Self.batchBytes {
                let length = buffer.withUnsafeMutableBytes {
                    c_jb_receive_datagram(socket, $0.baseAddress, UInt($0.count), &info)
                }
                if length < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    if code != EAGAIN && code != EWOULDBLOCK && code != failure {
                        failure = code  // said once per kind of failure, not once per turn
                        StandardError.write(
                            "journal-bridge: \(settings.endpoint): recvmsg: \(String(cString: strerror(code)))\n")
                    }
                    drained = true
                    break
                }
                if info.has_drops != 0 { counters.kernelDrops.store(Int(info.drops), ordering: .relaxed) }
                var origin = SyslogRecords.networkOrigin(identifier: settings.defaultIdentifier)
                if settings.endpoint.isUnix && info.has_credentials != 0 {
                    origin = Origin(pid: info.pid, uid: info.uid, gid: info.gid, identifier: settings.defaultIdentifier)
                    origin.identity = identities.identity(
                        pid: info.pid, uid: info.uid, gid: info.gid, now: MonotonicClock.now())
                }
                let kept = min(Int(length), buffer.count)
                let peer: String? =
                    settings.endpoint.isUnix
                    ? nil
                    : withUnsafeBytes(of: info.peer) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                let record = buffer.withUnsafeBytes { raw in
                    SyslogRecords.record(
                        UnsafeRawBufferPointer(rebasing: raw[0..<kept]), origin: origin, peer: peer,
                        droppedBytes: Int(length) - kept,
                        receivedMicros: LogRecord.now(), counters: counters
                    )
                }
                records.append(record)
                held += kept
                sources.append(SyslogDelivery.source(of: record.origin, peer: peer))
            }
            delivery.deliver(records, sources: sources)
            let drops = counters.kernelDrops.load(ordering: .relaxed)
            if let new = dropReport.due(drops, force: stopping) {
                context.event(
                    .warning,
                    "\(settings.endpoint): the kernel dropped \(new) datagrams (receive queue full; \(drops) in all)",
                    metadata: [MetadataField("input", settings.endpoint.name)]
                )
            }
            if stopping && drained { return }
        }
    }
}
