import CJournalBridgeShims
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Synchronization

/// The thread of a stream input (`SyslogSocketInput`) and its connections.
///
/// Syslog over a stream: a Unix stream socket (each connection with its peer's pid/uid/gid
/// from the kernel, `SO_PEERCRED`) or TCP (the peer's address). Each connection has its own
/// `SyslogFramer` (RFC 6587, octet-counting or LF/NUL-terminated, told apart per frame), so
/// no client's bytes can end up in another's messages; a frame longer than
/// `maximumMessageBytes` is cut there with a visible marker and counted (an octet count past
/// `SyslogFramer.maximumFrameBytes` is no count: see there); what is left when a connection
/// closes is a message too.
///
/// Delivery: no acks (syslog has none), but no loss either while the collector runs: when the
/// sinks back up, `route` waits, this thread stops reading, the socket buffers fill and the
/// senders' writes block. A slow sink slows stream clients; it never drops them.
/// Threads: an input runs `SyslogSocketInput.streamThreads` of these on one listening socket,
/// as rsyslog's imtcp runs workers: each accepts connections and owns those it accepted (so
/// each connection's messages keep their order), and a thread that holds more connections than
/// another stops accepting until the other catches up (`StreamShares`).
/// Memory: each connection reserves `maximumMessageBytes` (what its framer may hold) from the
/// collector's frame budget while it is open, within the part syslog streams may hold
/// (`MemoryBudget.streamLimit`: the bridge's frames keep the rest); a connection that does not
/// fit is refused at once and counted, as one over `maxConnections` is. While that part is
/// nearly full, or a connection was refused, each thread closes its connections that sent no
/// whole message for `idleLimit` (counted): idle connections held it, and new clients were
/// refused for as long as they stayed.
final class SyslogStreamLoop: SyslogLoop, @unchecked Sendable {
    /// How many connections each thread of the input holds; the input makes one for all of them.
    final class StreamShares: Sendable {
        /// Read once a turn by each thread: a lock costs nothing here.
        private let counts: ConditionLock<[Int]>

        init(threads: Int) { counts = ConditionLock([Int](repeating: 0, count: max(1, threads))) }

        func set(_ thread: Int, _ count: Int) { counts.withLock { $0[thread] = count } }

        /// Whether `thread` should take the next connection: it holds no more than `slack` over
        /// the fewest any holds. Strictly the fewest, one thread accepted one connection a turn
        /// while the others slept in poll: about 40 a second, a backlog of idle connections
        /// held a new client 20 s (and a Unix peer gone meanwhile lost its identity).
        func isLeast(_ thread: Int) -> Bool {
            counts.withLock { counts in counts[thread] <= (counts.min() ?? 0) + StreamShares.slack }
        }

        static let slack = 8
    }

    struct Connection {
        var framer: SyslogFramer
        var origin: Origin
        var peer: String?
        /// The source every record of a network peer counts under (its address); nil for a
        /// Unix peer, whose records count under the identifier each names.
        var source: SourceKey?
        /// Of the framer's `countFallbacks`, those already added to the input's counter.
        var reportedFallbacks = 0
        /// When it was accepted or last completed a message (monotonic nanoseconds).
        var lastMessage = MonotonicClock.now()
    }

    /// A connection that completed no message for this long is closed when room is needed.
    static let idleLimit: UInt64 = 10_000_000_000
    /// When this thread last looked for idle connections, and the refusals it had seen then.
    var lastIdleSweep = MonotonicClock.now()
    var refusalsSeen = 0

    /// The listening socket.
    var listener: Int32 { socket }
    var connections: [Int32: Connection] = [:]
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    /// Refused connections, said through the sinks as they grow (by the first thread only).
    var refusalReport = GrowthReport()
    /// Out of descriptors (EMFILE, ENFILE): the listener is not polled until then, or it would wake the loop at once, forever.
    var acceptPausedUntil: UInt64 = 0
    /// This thread's place among the input's (`shares`); the first also reports refused connections.
    let index: Int
    let shares: StreamShares

    init(
        socket: Int32, wake: Int32, settings: SyslogInputSettings, counters: SyslogCounters, delivery: SyslogDelivery,
        index: Int, shares: StreamShares
    ) {
        self.index = index
        self.shares = shares
        super.init(socket: socket, wake: wake, settings: settings, counters: counters, delivery: delivery)
    }

    func run() {
        while true {
            let accepting = MonotonicClock.now() >= acceptPausedUntil && shares.isLeast(index)
            var fds = [
                pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                pollfd(fd: accepting ? listener : -1, events: Int16(POLLIN), revents: 0),
            ]
            let order = Array(connections.keys)
            for fd in order { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            // poll fails only with EINTR (retried next turn) or ENOMEM; the timeout paces refusal reports.
            _ = poll(&fds, nfds_t(fds.count), accepting ? 1000 : 100)
            if fds[0].revents != 0 {
                drainAndCloseAll()
                return
            }
            // As many as wait, while this thread's share allows (`StreamShares.isLeast`).
            if fds[1].revents != 0 {
                while shares.isLeast(index) && acceptOne() {}
            }
            for (index, fd) in order.enumerated() where fds[index + 2].revents != 0 {
                read(fd, turns: 1)
            }
            reportRefusals(force: false)
            closeIdle()
            delivery.tick()
        }
    }

    /// Once a second: if the input's part of the memory budget is nearly full, or a connection
    /// was refused since the last look, closes this thread's connections that completed no
    /// message for `idleLimit` (what such a connection holds is stored first, as at any close).
    private func closeIdle() {
        let now = MonotonicClock.now()
        guard now &- lastIdleSweep >= 1_000_000_000 else { return }
        lastIdleSweep = now
        let refused = counters.refusedConnections.load(ordering: .relaxed)
        defer { refusalsSeen = refused }
        guard refused > refusalsSeen || context.budget.streamsNearlyFull else { return }
        for (fd, connection) in connections where now &- connection.lastMessage >= Self.idleLimit {
            finish(fd)
            counters.idleClosed.add(1, ordering: .relaxed)
        }
    }

    /// Accepts one waiting connection; false when none was taken (none waiting, or out of
    /// descriptors), so that the caller stops.
    @discardableResult
    private func acceptOne() -> Bool {
        var text = [CChar](repeating: 0, count: 64)
        let fd = c_jb_accept_peer(listener, &text, UInt(text.count))
        if fd < 0 {
            // EAGAIN: none left. Out of descriptors: a pause (`UnixSocket.acceptAgain`).
            acceptPausedUntil = UnixSocket.acceptAgain(after: errno, now: MonotonicClock.now())
            return false
        }
        // The input's connections are counted across its threads: the slot is taken first, so
        // that two threads accepting at once cannot both pass `maxConnections`.
        if counters.openConnections.add(1, ordering: .relaxed).newValue > settings.maxConnections
            || !context.budget.reserveStream(settings.maximumMessageBytes)
        {
            counters.openConnections.subtract(1, ordering: .relaxed)
            Glibc.close(fd)
            counters.refusedConnections.add(1, ordering: .relaxed)
            return true  // taken, and refused (counted)
        }
        var origin: Origin
        var peer: String?
        if settings.endpoint.isUnix {
            guard let credentials = try? UnixSocket.peerCredentials(fd) else {
                context.budget.releaseStream(settings.maximumMessageBytes)
                counters.openConnections.subtract(1, ordering: .relaxed)
                Glibc.close(fd)  // no kernel identity, no records: the truth is the kernel's
                counters.refusedConnections.add(1, ordering: .relaxed)
                return true  // taken, and refused (counted)
            }
            origin = Origin(
                pid: credentials.pid, uid: credentials.uid, gid: credentials.gid,
                identifier: settings.defaultIdentifier)
            // Read while the peer is alive, as the bridge input does; the journald sink sends it
            // as `OBJECT_*`, and its unit keys the peer's source.
            origin.identity = PeerIdentity.capture(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
        } else {
            origin = SyslogRecords.networkOrigin(identifier: settings.defaultIdentifier)
            peer = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        connections[fd] = Connection(
            framer: SyslogFramer(maximumMessageBytes: settings.maximumMessageBytes), origin: origin, peer: peer,
            source: peer.flatMap { $0.isEmpty ? nil : SyslogDelivery.source(of: origin, peer: $0) })
        counters.connections.add(1, ordering: .relaxed)
        shares.set(index, connections.count)
        return true
    }

    /// Reads up to `turns` chunks of `fd`, routes what they complete; closes it at EOF or an error.
    private func read(_ fd: Int32, turns: Int) {
        for _ in 0..<turns {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return }
                finish(fd)  // ECONNRESET and the like: what arrived is stored, the connection ends
                return
            }
            if count == 0 {
                finish(fd)
                return
            }
            guard var connection = connections[fd] else { return }
            var records: [LogRecord] = []
            records.reserveCapacity(min(count / 64, Self.batch))
            var held = 0
            var completed = false
            let now = LogRecord.now()
            let (origin, peer, source) = (connection.origin, connection.peer, connection.source)
            buffer.withUnsafeBytes { raw in
                connection.framer.appendViews(UnsafeRawBufferPointer(rebasing: raw[0..<count])) { frame in
                    completed = true
                    records.append(self.record(frame, origin, peer, now))
                    held += frame.bytes.count
                    // Routed as they come, a batch at a time (`SyslogLoop.batchBytes`).
                    if records.count >= Self.batch || held >= Self.batchBytes {
                        self.deliver(records, source: source)
                        records.removeAll(keepingCapacity: true)
                        held = 0
                    }
                }
            }
            if completed { connection.lastMessage = MonotonicClock.now() }
            let fallbacks = connection.framer.countFallbacks
            connections[fd] = connection
            counters.framingFallbacks.add(fallbacks - connection.reportedFallbacks, ordering: .relaxed)
            connections[fd]?.reportedFallbacks = fallbacks
            // Waits while the sinks are full: this connection (and the others) is read no further
            // until they drain, so the senders block: backpressure, never loss.
            deliver(records, source: source)
        }
    }

    /// Records of one connection: a network peer's under its address (`source`), a Unix
    /// peer's a run per source (its identifier may change from message to message).
    private func deliver(_ records: [LogRecord], source: SourceKey?) {
        if let source {
            delivery.deliver(records, source: source)
        } else {
            delivery.deliver(
                records,
                sources: records.map { SyslogDelivery.source(of: $0.origin, peer: nil) })
        }
    }

    private func record(_ frame: SyslogFramer.FrameView, _ origin: Origin, _ peer: String?, _ now: Int64) -> LogRecord {
        SyslogRecords.record(
            frame.bytes, origin: origin, peer: peer, droppedBytes: frame.droppedBytes, missingBytes: frame.missingBytes,
            receivedMicros: now, counters: counters)
    }

    private func finish(_ fd: Int32) {
        guard var connection = connections.removeValue(forKey: fd) else { return }
        var records: [LogRecord] = []
        let now = LogRecord.now()
        let (origin, peer) = (connection.origin, connection.peer)
        connection.framer.finishViews { records.append(record($0, origin, peer, now)) }
        deliver(records, source: connection.source)
        counters.framingFallbacks.add(
            connection.framer.countFallbacks - connection.reportedFallbacks, ordering: .relaxed)
        Glibc.close(fd)  // a read-only socket: nothing is lost if close reports an error
        context.budget.releaseStream(settings.maximumMessageBytes)
        counters.openConnections.subtract(1, ordering: .relaxed)
        shares.set(index, connections.count)
    }

    /// At stop: what every client already sent is read (a bounded number of chunks each, so a
    /// client that never stops sending cannot hold the stop), stored, and the connections closed.
    private func drainAndCloseAll() {
        for fd in Array(connections.keys) {
            read(fd, turns: 64)
            finish(fd)
        }
        reportRefusals(force: true)
    }

    private func reportRefusals(force: Bool) {
        guard index == 0 else { return }  // one thread says it for the input
        guard let new = refusalReport.due(counters.refusedConnections.load(ordering: .relaxed), force: force)
        else { return }
        context.event(
            .warning,
            "\(settings.endpoint): refused \(new) connections (\(settings.maxConnections) open, the memory limit reached, or no peer credentials)",
            metadata: [MetadataField("input", settings.endpoint.name)]
        )
    }
}
