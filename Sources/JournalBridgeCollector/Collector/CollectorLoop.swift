import CJournalBridgeShims
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Logging
import Synchronization

/// The collector's one I/O thread: poll(2) over the listener, a wake-up pipe and
/// every connection. It reads a bounded chunk from each ready connection per turn
/// (so one flooding client cannot starve the others), decodes, routes, and sends
/// acks that the sink threads asked for through the wake-up pipe.
final class CollectorLoop: @unchecked Sendable {
    private let listener: Int32
    private let configuration: CollectorConfiguration
    private let router: Router
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// A descriptor kept in reserve: when accept fails with EMFILE it is closed so the
    /// pending connection can be accepted and refused cleanly instead of spinning.
    private var reserve: Int32
    private var connections: [Int32: ClientConnection] = [:]
    private var sessions = SessionTable()
    private var diagnostics: DiagnosticsLimiter
    private let stopping = Atomic<Bool>(false)
    private let ackRequests = ConditionLock<Set<Int32>>([])
    let connectionCount = Atomic<Int>(0)
    private var buffer: [UInt8]
    private var refusing = false
    private let ownOrigin = Origin(pid: getpid(), uid: getuid(), gid: getgid(), identifier: "journal-bridge")

    init(listener: Int32, configuration: CollectorConfiguration, router: Router) throws(SystemError) {
        self.listener = listener
        self.configuration = configuration
        self.router = router
        var fds: [Int32] = [0, 0]
        try syscall("pipe2") { c_jb_pipe(&fds) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        reserve = open("/dev/null", O_RDONLY | O_CLOEXEC)
        buffer = [UInt8](repeating: 0, count: configuration.readChunkBytes)
        diagnostics = DiagnosticsLimiter(intervalSeconds: configuration.diagnosticsInterval)
    }

    func requestStop() {
        stopping.store(true, ordering: .releasing)
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    // MARK: the loop

    func run() {
        var fds: [pollfd] = []
        var order: [Int32] = []
        while !stopping.load(ordering: .acquiring) {
            fds.removeAll(keepingCapacity: true)
            order.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0))
            for fd in connections.keys {
                fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
                order.append(fd)
            }
            let ready = poll(&fds, nfds_t(fds.count), diagnosticsTimeout())
            reportExpiredDiagnostics()
            if ready <= 0 { continue }  // EINTR, or only a summary was due
            if fds[0].revents != 0 { drainWakePipe() }
            sendRequestedAcks()
            if fds[1].revents != 0 { acceptAll() }
            for (index, fd) in order.enumerated() where fds[index + 2].revents != 0 {
                readOnce(fd)
            }
        }
        // Stopping: take in what clients already sent, then leave the rest to `finish`.
        for fd in Array(connections.keys) {
            while connections[fd] != nil && readOnce(fd) {}
        }
    }

    /// After the sinks drained: the last acks, then close everything.
    func finish() {
        sendRequestedAcks()
        for fd in Array(connections.keys) { closeConnection(fd, reason: nil) }
        reportExpiredDiagnostics(force: true)
        if configuration.listeningDescriptor == nil { close(listener) }
        close(wakeRead)
        close(wakeWrite)
        if reserve >= 0 { close(reserve) }
    }

    private func drainWakePipe() {
        var scratch = [UInt8](repeating: 0, count: 256)
        while read(wakeRead, &scratch, scratch.count) > 0 {}
    }

    // MARK: accepting

    private func acceptAll() {
        while true {
            let fd = c_jb_accept(listener, 1)
            if fd < 0 {
                switch errno {
                case EINTR: continue
                case EMFILE, ENFILE: refuseForLackOfDescriptors()
                default: break
                }
                return
            }
            if connections.count >= configuration.maxConnections {
                let reason = "\(connections.count) connections already open (limit \(configuration.maxConnections))"
                if let peer = try? UnixSocket.peerCredentials(fd) {
                    violation(by: peer, reason: reason) { "refused a connection from pid \(peer.pid) uid \(peer.uid): \(reason)" }
                }
                close(fd)
                continue
            }
            guard let peer = try? UnixSocket.peerCredentials(fd) else {
                close(fd)
                continue
            }
            if refusing {
                refusing = false
                event(.notice, "accepting connections again")
            }
            connections[fd] = ClientConnection(fd: fd, peer: peer)
            connectionCount.store(connections.count, ordering: .relaxed)
        }
    }

    private func refuseForLackOfDescriptors() {
        guard reserve >= 0 else { return }
        close(reserve)
        let fd = c_jb_accept(listener, 0)
        if fd >= 0 { close(fd) }
        reserve = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if !refusing {
            refusing = true
            event(.error, "refusing new connections: out of file descriptors with \(connections.count) open")
        }
    }

    // MARK: reading

    /// Reads one chunk from a connection and handles the frames it completes.
    /// Returns true when it read something and the connection is still open.
    @discardableResult
    private func readOnce(_ fd: Int32) -> Bool {
        guard let connection = connections[fd] else { return false }
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return false }
            closeConnection(fd, reason: "read failed: \(SystemError(call: "read", errno: errno))")
            return false
        }
        if n == 0 {
            let left = connection.decoder.bufferedByteCount
            closeConnection(fd, reason: left > 0 ? "truncated frame at disconnect (\(left) bytes of an unfinished frame)" : nil)
            return false
        }
        buffer.withUnsafeBytes { connection.decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        do throws(WireError) {
            while let frame = try connection.decoder.nextFrame() {
                try handle(frame, on: connection)
            }
        } catch {
            sendGoodbye(fd, reason: error.description)
            closeConnection(fd, reason: error.description)
            return false
        }
        return true
    }

    private func handle(_ frame: Frame, on connection: ClientConnection) throws(WireError) {
        switch frame {
        case .hello(let hello):
            guard connection.session == nil else { throw WireError(.unexpectedFrame, "a second hello") }
            // 0 is "no session" in a record's origin (no JB_SESSION): a shipper picks 1...2^64-1.
            guard hello.session != 0 else { throw WireError(.invalidSession, "session 0") }
            let session = sessions.open(SessionTable.Key(uid: connection.peer.uid, pid: connection.peer.pid, id: hello.session))
            connection.session = session
            connection.origin.session = hello.session
            connection.origin.identifier = hello.identifier.isEmpty ? configuration.defaultIdentifier : hello.identifier
            let stored = session.progress.withLock { $0.stored }
            connection.ackSent = stored
            var encoder = FrameEncoder(capacity: 32)
            encoder.encode(.welcome(version: WireProtocol.version, acknowledged: stored))
            sendBestEffort(connection.fd, encoder.bytes)
        case .batch(var records):
            guard let session = connection.session else { throw WireError(.unexpectedFrame, "records before hello") }
            connection.received += records.count
            // Only this I/O thread moves `routed`, so it cannot change between the check and the update.
            let routed = session.progress.withLock { $0.started ? $0.routed : nil }
            try Self.checkSequences(records, routed: routed)
            // Resent records the collector already routed are duplicates: drop them here
            // (sequences increase, so they are a prefix of the batch).
            if let routed, let first = records.first, first.sequence <= routed {
                records.removeAll { $0.sequence <= routed }
            }
            guard let last = records.last else {
                requestAck(connection.fd)
                return
            }
            for index in records.indices { records[index].origin = connection.origin }
            session.progress.withLock { progress in
                // A session the collector never saw starts here: its first record is the baseline.
                progress.started = true
                progress.routed = max(progress.routed, last.sequence)
            }
            let fd = connection.fd
            let sequence = last.sequence
            router.route(records) { [weak self] in
                session.progress.withLock { $0.stored = max($0.stored, sequence) }
                self?.requestAck(fd)
            }
        case .welcome, .ack, .goodbye:
            throw WireError(.unexpectedFrame, "a collector-side frame from a client")
        }
    }

    /// The sequence rules of docs/protocol.md, checked for the whole batch before any of it
    /// is routed: no 0; strictly increasing; each at most `WireProtocol.maxSequenceGap` above
    /// the highest the session routed before it (`routed`, then the batch's earlier records).
    /// `routed` nil: a session the collector never saw, whose first record is its baseline.
    static func checkSequences(_ records: [LogRecord], routed: UInt64?) throws(WireError) {
        var previous: UInt64?
        var highest = routed
        for record in records {
            let sequence = record.sequence
            guard sequence != 0 else { throw WireError(.invalidSequence, "sequence 0") }
            if let previous, sequence <= previous {
                throw WireError(.invalidSequence, "sequence \(sequence) after \(previous) in one batch")
            }
            if let highest, sequence > highest, sequence - highest > WireProtocol.maxSequenceGap {
                throw WireError(
                    .invalidSequence,
                    "sequence \(sequence) jumps more than \(WireProtocol.maxSequenceGap) past \(highest), the session's highest"
                )
            }
            previous = sequence
            highest = max(highest ?? 0, sequence)
        }
    }

    // MARK: acks

    /// Called from sink threads once a batch is stored.
    private func requestAck(_ fd: Int32) {
        let first = ackRequests.withLock { $0.insert(fd).inserted && $0.count == 1 }
        if first { wake() }
    }

    private func sendRequestedAcks() {
        let requested = ackRequests.withLock { requests -> Set<Int32> in
            defer { requests.removeAll(keepingCapacity: true) }
            return requests
        }
        for fd in requested {
            guard let connection = connections[fd], let session = connection.session else { continue }
            let stored = session.progress.withLock { $0.stored }
            guard stored > connection.ackSent else { continue }
            var encoder = FrameEncoder(capacity: 16)
            encoder.encode(.ack(stored))
            if sendBestEffort(fd, encoder.bytes) { connection.ackSent = stored }
        }
    }

    /// Non-blocking send of a small frame; false if it did not all go (the ack is retried later).
    @discardableResult
    private func sendBestEffort(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        return n == bytes.count
    }

    private func sendGoodbye(_ fd: Int32, reason: String) {
        var encoder = FrameEncoder(capacity: 64)
        encoder.encode(.goodbye(reason: reason))
        sendBestEffort(fd, encoder.bytes)
    }

    // MARK: closing and events

    private func closeConnection(_ fd: Int32, reason: String?) {
        guard let connection = connections.removeValue(forKey: fd) else { return }
        connectionCount.store(connections.count, ordering: .relaxed)
        close(fd)
        if let session = connection.session { sessions.release(session.key) }
        if let reason {
            violation(by: connection.peer, reason: reason) { "closed the connection from \(connection.describe): \(reason)" }
        }
    }

    /// A client broke a rule: reported in full (`message`) unless the limiter says the
    /// peer was already reported this interval, in which case it is counted for the summary.
    private func violation(by peer: (pid: Int32, uid: UInt32, gid: UInt32), reason: String, message: () -> String) {
        let now = MonotonicClock.now()
        reportExpiredDiagnostics(now: now)
        guard diagnostics.admit(DiagnosticsLimiter.Peer(pid: peer.pid, uid: peer.uid), reason: reason, now: now) else { return }
        event(.warning, message(), metadata: [
            MetadataField("peer.pid", String(peer.pid)),
            MetadataField("peer.uid", String(peer.uid)),
            MetadataField("reason", reason),
        ])
    }

    /// Logs the summaries of a diagnostics interval that ended (all pending ones when `force`).
    private func reportExpiredDiagnostics(now: UInt64 = MonotonicClock.now(), force: Bool = false) {
        for summary in diagnostics.expire(now: now, force: force) {
            event(.warning, summary.message, metadata: summary.metadata)
        }
    }

    /// poll's timeout: until the pending diagnostics summary is due, else forever.
    private func diagnosticsTimeout() -> Int32 {
        guard let deadline = diagnostics.deadline else { return -1 }
        let now = MonotonicClock.now()
        return deadline <= now ? 0 : Int32(clamping: (deadline - now) / 1_000_000 + 1)
    }

    /// The collector's own diagnostics go through the same sinks, as records of its own.
    private func event(_ level: Logger.Level, _ message: String, metadata: [MetadataField] = []) {
        router.route([
            LogRecord(level: level, label: "journal-bridge.collector", message: message, metadata: metadata, origin: ownOrigin)
        ])
    }
}
