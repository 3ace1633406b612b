import CJournalBridgeShims
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Logging
import Synchronization

/// The bridge input's I/O thread (`BridgeInput`): poll(2) over the listener, a wake-up pipe
/// and every connection. It reads a bounded chunk from each ready connection per turn
/// (so one flooding client cannot starve the others), decodes, routes, and sends
/// acks that the sink threads asked for through the wake-up pipe.
///
/// Memory: a connection reserves the declared size of the frame it is receiving from
/// the collector's `MemoryBudget` before its body is read; one that cannot is paused
/// (not polled for input) until budget frees, and an unfinished frame that stops
/// making progress is closed, so stalled frames cannot hold the budget for ever.
final class BridgeLoop: @unchecked Sendable {
    /// An unfinished frame with no new byte for this long is closed (slowloris).
    static let stallTimeout: UInt64 = 30_000_000_000
    /// The same while other connections wait for memory: the budget must turn over.
    static let contendedStallTimeout: UInt64 = 5_000_000_000
    /// While others wait for memory, a frame must also finish this long after it began
    /// (a trickle of one byte every few seconds would otherwise hold its reservation).
    static let contendedFrameTimeout: UInt64 = 30_000_000_000

    private let listener: Int32
    private let configuration: CollectorConfiguration
    private let context: InputContext
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
    private var budget: MemoryBudget { context.budget }
    /// Connections waiting for frame budget, oldest first (entries of closed ones are skipped).
    private var pausedOrder: [Int32] = []
    private var pausedCount = 0
    /// The least extra budget any waiting connection needs, small and large frames apart:
    /// a pass over the waiting ones is pointless until that much is free.
    private var smallestNeed = (small: Int.max, large: Int.max)
    /// Frame bytes each uid's connections hold reserved and have not received yet (declared
    /// in a frame's header, or a chunk being read): no uid may be promised more than
    /// `userFrameLimit`, so that one user's connections, stalling frames on purpose, cannot
    /// take the frame share from every other client. Bytes received are memory used, which
    /// the budget bounds; the paused hold only those.
    private var promisedByUser: [UInt32: Int] = [:]
    private var lastUserPauseReport: UInt64 = 0
    private var lastSweep = MonotonicClock.now()
    private var lastPauseReport: UInt64 = 0
    private var pollFailing = false

    init(listener: Int32, configuration: CollectorConfiguration, context: InputContext) throws(SystemError) {
        self.listener = listener
        self.configuration = configuration
        self.context = context
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
        // Non-blocking: EAGAIN means the pipe is full, so the loop is already due to wake.
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
            var unfinished = false
            for (fd, connection) in connections {
                if connection.decoder.bufferedByteCount > 0 { unfinished = true }
                // A paused connection is not polled at all: not even its hang-up, which
                // would make poll return at once for ever; it is seen when resumed.
                if connection.memory.paused { continue }
                fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
                order.append(fd)
            }
            // Wake when a diagnostics summary is due, and once a second while a frame is
            // unfinished, to close stalled ones.
            let summaryDue = diagnosticsTimeout(context.limiter.deadline)
            let timeout = unfinished ? (summaryDue < 0 ? 1000 : min(summaryDue, 1000)) : summaryDue
            // A signal restarts the wait (`syscall`); any other failure is said and retried.
            let polled = Result { () throws(SystemError) in
                try syscall("poll") { poll(&fds, nfds_t(fds.count), timeout) }
            }
            reportExpiredDiagnostics()
            reportRateLimits()
            if case .failure(let failure) = polled {
                pollFailed(failure)
                continue
            }
            if pollFailing {
                pollFailing = false
                event(.notice, "poll works again")
            }
            if fds[0].revents != 0 { drainWakePipe() }
            sendRequestedAcks()
            if fds[1].revents != 0 { acceptAll() }
            for (index, fd) in order.enumerated() where fds[index + 2].revents != 0 {
                readOnce(fd)
            }
            closeStalledFrames()
            resumePaused()
        }
        // Stopping: take in what clients already sent, then leave the rest to `finish`. Bounded:
        // a client that goes on sending as fast as it is read must not hold the stop until
        // systemd's SIGKILL (its socket's buffer holds far less than 64 reads).
        let drainEnd = MonotonicClock.deadline(after: 5)
        for fd in Array(connections.keys) {
            var reads = 0
            while connections[fd] != nil && reads < 64 && MonotonicClock.now() < drainEnd && readOnce(fd) { reads += 1 }
        }
    }

    /// poll(2) failed for another reason than a signal (ENOMEM: the kernel is short of memory):
    /// said once per episode, and retried after a pause instead of spinning.
    private func pollFailed(_ failure: SystemError) {
        if !pollFailing {
            pollFailing = true
            event(.error, "poll failed: \(failure); retrying every 100 ms")
        }
        usleep(100_000)
    }

    /// After the sinks drained: the last acks, then close everything.
    func finish() {
        sendRequestedAcks()
        for fd in Array(connections.keys) { closeConnection(fd, reason: nil) }
        reportExpiredDiagnostics(force: true)
        reportRateLimits(force: true)
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
                    violation(by: peer, reason: reason) {
                        "refused a connection from pid \(peer.pid) uid \(peer.uid): \(reason)"
                    }
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
        guard let limit = reserveForRead(connection) else {
            pause(connection)
            return false
        }
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, min(limit, $0.count)) }
        if n < 0 {
            if errno == EAGAIN || errno == EINTR {
                settleReservation(connection, frameStarted: false)
                return false
            }
            closeConnection(fd, reason: "read failed: \(SystemError(call: "read", errno: errno))")
            return false
        }
        if n == 0 {
            let left = connection.decoder.bufferedByteCount
            closeConnection(
                fd, reason: left > 0 ? "truncated frame at disconnect (\(left) bytes of an unfinished frame)" : nil)
            return false
        }
        connection.memory.lastProgress = MonotonicClock.now()
        let startsAFrame = connection.decoder.bufferedByteCount == 0
        buffer.withUnsafeBytes { connection.decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        var decodedAny = false
        do throws(WireError) {
            while let frame = try connection.decoder.nextFrame() {
                decodedAny = true
                try handle(frame, on: connection)
            }
        } catch {
            context.tally.failure(
                input: "bridge",
                reason: error.code == .frameTooLarge || error.code == .limitExceeded ? .oversizeCut : .parseFailure)
            sendGoodbye(fd, reason: error.description)
            closeConnection(fd, reason: error.description)
            return false
        }
        settleReservation(connection, frameStarted: startsAFrame || decodedAny)
        return true
    }

    // MARK: the memory budget

    /// How many bytes the next read of `connection` may take, with the budget for them
    /// reserved; nil when the budget cannot cover its pending frame (then it pauses).
    /// While the budget has room a read takes a whole chunk (many small frames at once);
    /// when it is short, reads stop at frame boundaries: the 4-byte header first (not
    /// counted), then exactly the declared body once it is reserved.
    private func reserveForRead(_ connection: ClientConnection) -> Int? {
        let chunk = buffer.count
        let buffered = connection.decoder.bufferedByteCount
        let frame = connection.decoder.pendingFrameBytes
        if pausedCount == 0 && budget.freeFrameBytes >= budget.frameLimit / 4 {
            // A large frame is read up to its end only, so its buffer never outgrows it.
            let limit = frame.map { $0 > chunk ? min(chunk, $0 - buffered) : chunk } ?? chunk
            if grow(connection, to: max(frame ?? 0, buffered + limit)) { return limit }
        }
        guard let frame else { return 4 - buffered }
        return grow(connection, to: frame) ? frame - buffered : nil
    }

    /// What one uid's connections may be promised together: a quarter of the frame share,
    /// and at least one frame of the largest size (a smaller budget is one user's to share).
    /// A frame is reserved whole when its header comes, so without this 1,024 connections of
    /// one user trickling a byte now and then held a 128 MiB share, and every other client
    /// waited about 30 s at a time, until they were closed and came back.
    var userFrameLimit: Int { max(budget.frameLimit / 4, WireProtocol.maxFrameBytes) }

    /// Reserves budget until `connection` holds `bytes`; false (nothing taken) if it does not
    /// fit, in the budget or in its uid's part of it (a uid promised nothing else may take one
    /// frame).
    private func grow(_ connection: ClientConnection, to bytes: Int) -> Bool {
        let extra = bytes - connection.memory.reserved
        guard extra > 0 else { return true }
        let others = promisedByUser[connection.peer.uid, default: 0] - connection.memory.promised
        let promise = bytes - connection.decoder.bufferedByteCount
        guard others == 0 || others + promise <= userFrameLimit else { return false }
        // More than two chunks: a large frame, kept out of the share's small-frame slice.
        guard budget.reserveFrame(extra, large: isLarge(bytes)) else { return false }
        connection.memory.reserved = bytes
        account(connection)
        return true
    }

    /// Gives back `bytes` of what `connection` holds reserved.
    private func release(_ bytes: Int, of connection: ClientConnection) {
        guard bytes > 0 else { return }
        budget.releaseFrame(bytes)
        connection.memory.reserved -= bytes
        account(connection)
    }

    /// Counts what `connection` is promised now (reserved, not yet received) in its uid's total.
    private func account(_ connection: ClientConnection, closing: Bool = false) {
        let promised = closing ? 0 : max(0, connection.memory.reserved - connection.decoder.bufferedByteCount)
        guard promised != connection.memory.promised else { return }
        let total = promisedByUser[connection.peer.uid, default: 0] - connection.memory.promised + promised
        promisedByUser[connection.peer.uid] = total > 0 ? total : nil
        connection.memory.promised = promised
    }

    /// After a read: keeps the reservation for the frame now pending (its whole declared
    /// size, so its body is read without asking again), gives back the rest, or pauses
    /// the connection holding only what it has buffered.
    private func settleReservation(_ connection: ClientConnection, frameStarted: Bool) {
        guard connections[connection.fd] === connection else { return }
        let buffered = connection.decoder.bufferedByteCount
        if frameStarted { connection.memory.pendingSince = MonotonicClock.now() }
        var keep = buffered
        if let frame = connection.decoder.pendingFrameBytes {
            if grow(connection, to: frame) {
                keep = frame
                if frame > buffer.count { connection.decoder.reserveCapacity(frame) }
            } else {
                pause(connection)
            }
        }
        if connection.memory.reserved > keep { release(connection.memory.reserved - keep, of: connection) }
        account(connection)  // what arrived is no longer promised
    }

    private func isLarge(_ frameBytes: Int) -> Bool { frameBytes > 2 * buffer.count }

    private func pause(_ connection: ClientConnection) {
        guard !connection.memory.paused else { return }
        connection.memory.paused = true
        if pausedCount == 0 { smallestNeed = (Int.max, Int.max) }
        pausedCount += 1
        noteNeed(of: connection)
        // Entries of connections closed while paused are dropped now and then, so that
        // churning connections cannot grow the list while others wait.
        if pausedOrder.count > 2 * pausedCount + 64 {
            pausedOrder.removeAll { connections[$0]?.memory.paused != true }
        }
        pausedOrder.append(connection.fd)
        let now = MonotonicClock.now()
        let uid = connection.peer.uid
        let held = promisedByUser[uid, default: 0] - connection.memory.promised
        if held > 0
            && held + (connection.decoder.pendingFrameBytes ?? 0) - connection.decoder.bufferedByteCount
                > userFrameLimit
        {
            // Its own user's part, not the budget: only that user's connections wait.
            if now &- lastUserPauseReport > 10_000_000_000 {
                lastUserPauseReport = now
                event(
                    .notice,
                    "uid \(uid) holds its part of the memory budget for unfinished frames (\(held) of \(userFrameLimit) bytes): pausing its connections until it frees"
                )
            }
        } else if pausedCount == 1 && now &- lastPauseReport > 10_000_000_000 {
            lastPauseReport = now
            event(
                .notice,
                "memory budget for unfinished frames in use (\(budget.frameLimit - budget.freeFrameBytes) of \(budget.frameLimit) bytes): pausing connections until it frees"
            )
        }
    }

    /// Gives waiting connections their frame's reservation as budget frees, oldest first;
    /// one whose frame does not fit yet does not hold back smaller ones behind it.
    private func resumePaused() {
        guard pausedCount > 0 else {
            pausedOrder.removeAll()
            return
        }
        guard budget.wouldFit(smallestNeed.small, large: false) || budget.wouldFit(smallestNeed.large, large: true)
        else { return }
        smallestNeed = (Int.max, Int.max)
        var waiting: [Int32] = []
        var seen = Set<Int32>()
        let now = MonotonicClock.now()
        for fd in pausedOrder where seen.insert(fd).inserted {
            guard let connection = connections[fd], connection.memory.paused else { continue }
            if let frame = connection.decoder.pendingFrameBytes, !grow(connection, to: frame) {
                waiting.append(fd)
                noteNeed(of: connection)
                continue
            }
            connection.memory.paused = false
            pausedCount -= 1
            // The time it waited was the collector's doing, not the client's.
            connection.memory.lastProgress = now
            connection.memory.pendingSince = now
            if let frame = connection.decoder.pendingFrameBytes, frame > buffer.count {
                connection.decoder.reserveCapacity(frame)
            }
        }
        pausedOrder = waiting
    }

    private func noteNeed(of connection: ClientConnection) {
        let frame = connection.decoder.pendingFrameBytes ?? 0
        let need = max(1, frame - connection.memory.reserved)
        if isLarge(frame) {
            smallestNeed.large = min(smallestNeed.large, need)
        } else {
            smallestNeed.small = min(smallestNeed.small, need)
        }
    }

    /// Closes connections whose unfinished frame stopped arriving: after `stallTimeout`
    /// without a byte, or sooner while other connections wait for memory. Paused
    /// connections are not judged: they are not being read.
    private func closeStalledFrames() {
        let now = MonotonicClock.now()
        guard now &- lastSweep >= 1_000_000_000 else { return }
        lastSweep = now
        let contended = pausedCount > 0
        let stallLimit = contended ? Self.contendedStallTimeout : Self.stallTimeout
        var stalled: [(Int32, String)] = []
        for (fd, connection) in connections where !connection.memory.paused {
            let buffered = connection.decoder.bufferedByteCount
            guard buffered > 0 else { continue }
            let of = connection.decoder.pendingFrameBytes.map { " of \($0)" } ?? ""
            let waiting = contended ? " while other connections waited for memory" : ""
            if now &- connection.memory.lastProgress >= stallLimit {
                stalled.append(
                    (
                        fd,
                        "unfinished frame (\(buffered)\(of) bytes) made no progress for \(stallLimit / 1_000_000_000) s\(waiting)"
                    ))
            } else if contended && now &- connection.memory.pendingSince >= Self.contendedFrameTimeout {
                stalled.append(
                    (
                        fd,
                        "unfinished frame (\(buffered)\(of) bytes) not finished in \(Self.contendedFrameTimeout / 1_000_000_000) s\(waiting)"
                    ))
            }
        }
        for (fd, reason) in stalled {
            // Bytes waiting mean the collector was the slow one (blocked routing to full
            // sink queues, say), not the client: it is read next turn, not judged now.
            // A probe that fails (ENOMEM) judges nothing: the next sweep looks again.
            var probe = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard let ready = try? syscall("poll", { poll(&probe, 1, 0) }) else { continue }
            if ready > 0 && probe.revents != 0 { continue }
            sendGoodbye(fd, reason: reason)
            closeConnection(fd, reason: reason)
        }
    }

    private func handle(_ frame: Frame, on connection: ClientConnection) throws(WireError) {
        switch frame {
        case .hello(let hello):
            guard connection.session == nil else { throw WireError(.unexpectedFrame, "a second hello") }
            // 0 is "no session" in a record's origin (no JB_SESSION): a shipper picks 1...2^64-1.
            guard hello.session != 0 else { throw WireError(.invalidSession, "session 0") }
            let session = sessions.open(
                SessionTable.Key(uid: connection.peer.uid, pid: connection.peer.pid, id: hello.session))
            connection.session = session
            connection.origin.session = hello.session
            connection.origin.identifier = hello.identifier.isEmpty ? configuration.defaultIdentifier : hello.identifier
            connection.source = SourceKey(
                uid: connection.peer.uid, unit: connection.origin.identity?.sourceUnit,
                identifier: connection.origin.identifier
            )
            let stored = session.progress.withLock { $0.stored }
            connection.ackSent = stored
            var encoder = FrameEncoder(capacity: 32)
            encoder.encode(.welcome(version: WireProtocol.version, acknowledged: stored))
            sendBestEffort(connection.fd, encoder.bytes)
        case .batch(var records):
            guard let session = connection.session else { throw WireError(.unexpectedFrame, "records before hello") }
            connection.received += records.count
            let receivedCount = records.count
            // Only this I/O thread moves `routed`, so it cannot change between the check and the update.
            let routed = session.progress.withLock { $0.started ? $0.routed : nil }
            try Self.checkSequences(records, routed: routed)
            // Resent records the collector already routed are duplicates: drop them here
            // (sequences increase, so they are a prefix of the batch).
            if let routed, let first = records.first, first.sequence <= routed {
                records.removeAll { $0.sequence <= routed }
            }
            let source =
                connection.source
                ?? SourceKey(uid: connection.peer.uid, unit: nil, identifier: connection.origin.identifier)
            guard let last = records.last else {
                context.tally.batch(
                    input: "bridge", source: source, received: receivedCount, duplicates: receivedCount, rateLimited: 0,
                    routed: 0, workerShed: 0)
                requestAck(connection.fd)
                return
            }
            for index in records.indices { records[index].origin = connection.origin }
            // Rate-limited records are acknowledged like the others (the worker must not resend them).
            let (admitted, suppressed) = context.limiter.admit(records, source: source, now: MonotonicClock.now())
            context.tally.batch(
                input: "bridge", source: source, received: receivedCount, duplicates: receivedCount - records.count,
                rateLimited: suppressed, routed: admitted.count, workerShed: Self.workerShed(in: admitted)
            )
            session.progress.withLock { progress in
                // A session the collector never saw starts here: its first record is the baseline.
                progress.started = true
                progress.routed = max(progress.routed, last.sequence)
            }
            let fd = connection.fd
            let sequence = last.sequence
            context.deliver(admitted) { [weak self] in
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
        if connection.memory.paused { pausedCount -= 1 }
        release(connection.memory.reserved, of: connection)
        account(connection, closing: true)
        if let reason {
            violation(by: connection.peer, reason: reason) {
                "closed the connection from \(connection.describe): \(reason)"
            }
        }
    }

    /// A client broke a rule: reported in full (`message`) unless the limiter says the
    /// peer was already reported this interval, in which case it is counted for the summary.
    private func violation(by peer: (pid: Int32, uid: UInt32, gid: UInt32), reason: String, message: () -> String) {
        let now = MonotonicClock.now()
        reportExpiredDiagnostics(now: now)
        guard diagnostics.admit(DiagnosticsLimiter.Peer(pid: peer.pid, uid: peer.uid), reason: reason, now: now) else {
            return
        }
        event(
            .warning, message(),
            metadata: [
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

    /// Records a worker's shipper reported it shed ("dropped N records", `dropped` metadata).
    static func workerShed(in records: [LogRecord]) -> Int {
        var shed = 0
        for record in records where record.message.hasPrefix("dropped ") {
            if let field = record.metadata.first(where: { $0.key == "dropped" }), let count = Int(field.value),
                count > 0
            {
                shed += min(count, 1 << 40)
            }
        }
        return shed
    }

    /// One record for each source's interval that suppressed anything (`SourceRateLimiter`).
    private func reportRateLimits(force: Bool = false) { context.reportRateLimits(force: force) }

    /// poll's timeout: until the pending diagnostics summary is due, else forever.
    private func diagnosticsTimeout(_ other: UInt64? = nil) -> Int32 {
        let deadlines = [diagnostics.deadline, other].compactMap { $0 }
        guard let deadline = deadlines.min() else { return -1 }
        let now = MonotonicClock.now()
        return deadline <= now ? 0 : Int32(clamping: (deadline - now) / 1_000_000 + 1)
    }

    /// The collector's own diagnostics go through the same sinks, as records of its own.
    private func event(_ level: Logger.Level, _ message: String, metadata: [MetadataField] = []) {
        context.event(level, message, metadata: metadata)
    }
}
