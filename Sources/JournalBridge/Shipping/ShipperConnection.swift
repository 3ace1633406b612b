#if canImport(Glibc)
import Glibc
#endif
import Logging

/// The shipper's background thread: batching, sending, acknowledgements,
/// reconnecting with backoff and resending what was not acknowledged.
/// Everything here runs on that one thread, so it needs no lock of its own.
final class ShipperConnection: @unchecked Sendable {
    /// Strong: the thread keeps its shipper alive until `shutdown()` ends it, so a shipper the
    /// program drops without shutting it down still delivers what it holds.
    private let shipper: RecordShipper
    private var fd: Int32 = -1
    /// Taken from the queue, not yet encoded.
    private var unsent: [LogRecord] = []
    private var unsentHead = 0
    /// Encoded and (partly) written, waiting for an ack; in sequence order.
    private var unacked: [LogRecord] = []
    private var unackedHead = 0
    private var encoder = FrameEncoder()
    private var written = 0  // bytes of encoder.bytes already written
    private var acks = FrameDecoder(maxFrameBytes: 64 * 1024)
    private var backoff: Double
    private var nextAttempt: UInt64 = 0
    private var reportedFailure = false
    private var spare: [QueuedRecord] = []

    // Isolating a record the collector refuses (a goodbye after a batch: it broke a limit of
    // that collector). Resending the batch as it was would be refused forever and hold up every
    // record after it; instead the records that were in flight go out again one batch at a time,
    // each waiting for its ack, until one record alone is refused: that one is dropped, counted
    // and reported, and the rest flow as before.
    /// The last record in flight at the refusal: records up to it are suspects. 0: not isolating.
    private var suspectsThrough: UInt64 = 0
    /// Records per batch while isolating: doubles while the collector takes them (most suspects
    /// are innocent), 1 once a batch of several was refused (the culprit is in it).
    private var probeSize = 1
    private var narrowed = false
    /// When the batch in flight while isolating went out; an ack that does not come (the
    /// collector already had the records) is asked for again by sending them again.
    private var probeSentAt: UInt64 = 0
    private static let probeRetryNanoseconds: UInt64 = 200_000_000
    /// Sequences of this shipper's own refusal reports not yet acknowledged: one refused in
    /// turn is dropped without a report of its own (no report about a report, forever).
    private var refusalReports: [UInt64] = []

    init(shipper: RecordShipper) {
        self.shipper = shipper
        self.backoff = shipper.configuration.reconnectDelay.minimum
    }

    private var pendingCount: Int { (unsent.count - unsentHead) + (unacked.count - unackedHead) }

    /// How long the thread keeps ticking after the last record before it sleeps until signalled.
    private static let lingerNanoseconds: UInt64 = 200_000_000
    private static let tickNanoseconds: UInt64 = 1_000_000
    private var lastActivity: UInt64 = 0
    private var idleLastTurn = false

    func run() {
        while true {
            let blocked = fd >= 0 && written < encoder.bytes.count
            if blocked {
                // The collector is behind and the socket is full: sleep until it can take more
                // (or an ack arrives), not on the 1 ms tick, which with a hundred workers
                // would be a hundred thousand wake-ups a second on a busy machine.
                var ready = pollfd(fd: fd, events: Int16(POLLOUT | POLLIN), revents: 0)
                // Only a wait: the turn below tries the socket whatever poll says, so a failed
                // or interrupted poll just means trying sooner.
                _ = poll(&ready, 1, 50)
            }
            // Everything sent, nothing new last turn, only acks to wait for: wait for them on the
            // socket (10 ms at most, so records logged meanwhile are not held longer).
            let awaitingAcks =
                fd >= 0 && !blocked && idleLastTurn && (unsentHead == unsent.count || suspectsThrough > 0)
                && unackedHead < unacked.count
            if awaitingAcks {
                var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&ready, 1, 10)  // only a wait, as above
            }
            let now = MonotonicClock.now()
            let active = pendingCount > 0 || now - lastActivity < Self.lingerNanoseconds
            // The wait until the next attempt, 0 once it is due (it may be: this thread can be
            // woken, or preempted, past it); `now + tick` cannot overflow: `nextAttempt` is a deadline.
            let untilAttempt = nextAttempt > now ? nextAttempt - now : 0
            let tick = fd < 0 && pendingCount > 0 ? max(Self.tickNanoseconds, untilAttempt) : Self.tickNanoseconds
            let deadline: UInt64? = blocked || awaitingAcks ? now : active ? now + tick : nil
            let closing = shipper.lock.wait(
                until: {
                    !$0.queue.isEmpty || $0.closing
                        || ($0.droppedSinceReport > 0 && $0.held < self.shipper.reportThreshold)
                },
                deadline: deadline,
                willWait: { $0.consumerIdle = deadline == nil }
            ) { state, _ -> Bool in
                state.consumerIdle = false
                if !state.queue.isEmpty {
                    swap(&spare, &state.queue)
                    lastActivity = MonotonicClock.now()
                }
                if state.droppedSinceReport > 0 && state.held < shipper.reportThreshold {
                    // The episode is over (the queue drained below where shedding starts): one record
                    // of its own, with its own sequence number, says what it cost.
                    var record = LogRecord(
                        level: .warning, label: "journal-bridge",
                        message: "dropped \(state.droppedSinceReport) records: queue full",
                        metadata: [MetadataField("dropped", String(state.droppedSinceReport))],
                        origin: .unattributed
                    )
                    record.sequence = state.nextSequence
                    state.nextSequence += 1
                    state.held += 1
                    state.droppedSinceReport = 0
                    spare.append(QueuedRecord(record: record, base: [:], explicit: nil))
                }
                return state.closing
            }
            idleLastTurn = spare.isEmpty
            if !spare.isEmpty {
                // No reserveCapacity: it grows to exactly what is asked, so called each turn it
                // copied the whole array each turn; append grows it geometrically.
                for item in spare { unsent.append(item.flattened()) }
                spare.removeAll(keepingCapacity: true)
            }
            if closing {
                disconnect(resend: false)
                shipper.lock.withLock { state in
                    state.finished = true
                    shipper.lock.broadcast()
                }
                return
            }
            if fd < 0 && pendingCount > 0 && MonotonicClock.now() >= nextAttempt { connect() }
            if fd >= 0 { pump() }
        }
    }

    // MARK: connection

    private func connect() {
        let path = shipper.configuration.resolvedSocketPath
        do {
            // Bounded from the connect on: a collector that stopped accepting must not hold this
            // thread (and `shutdown()`, which joins it) for ever.
            let socket = try UnixSocket.connect(path: path, timeout: 5)
            let acknowledged: UInt64
            do {
                try UnixSocket.setTimeout(socket, option: SO_RCVTIMEO, seconds: 5)
                var hello = FrameEncoder(capacity: 64)
                hello.encode(.hello(Hello(session: shipper.session, identifier: shipper.configuration.identifier)))
                try writeAll(socket, hello.bytes, socket: true)
                acknowledged = try readWelcome(socket)
                try UnixSocket.setNonBlocking(socket)
            } catch {
                close(socket)  // never used: nothing to lose if close fails
                throw error
            }
            fd = socket
            // The backoff is reset by the first ack, not here: a collector that welcomes and then
            // refuses must not be reconnected to in a tight loop.
            if reportedFailure {
                reportedFailure = false
                StandardError.write("journal-bridge: reconnected to the collector at \(path)\n")
            }
            // The collector may already hold some of what we are about to resend.
            if acknowledged > 0 { acknowledge(upTo: acknowledged) }
            shipper.lock.withLock { $0.statistics.reconnects += 1 }
        } catch {
            if !reportedFailure {
                reportedFailure = true
                StandardError.write(
                    "journal-bridge: cannot reach the collector at \(path): \(error); records are kept and retried\n")
            }
            nextAttempt = MonotonicClock.deadline(after: backoff)
            backoff = min(backoff * 2, shipper.configuration.reconnectDelay.maximum)
        }
    }

    private struct ProtocolFailure: Error, CustomStringConvertible {
        var description: String
    }

    private func readWelcome(_ socket: Int32) throws -> UInt64 {
        var decoder = FrameDecoder(maxFrameBytes: 64 * 1024)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let frame = try decoder.nextFrame() {
                switch frame {
                case .welcome(_, let acknowledged): return acknowledged
                case .goodbye(let reason): throw ProtocolFailure(description: "collector refused: \(reason)")
                default: throw ProtocolFailure(description: "unexpected frame instead of a welcome")
                }
            }
            let n = try syscall("recv") { recv(socket, &buffer, buffer.count, 0) }
            if n == 0 { throw ProtocolFailure(description: "collector closed the connection") }
            decoder.append(buffer[0..<n])
        }
    }

    private func disconnect(resend: Bool) {
        if fd >= 0 { close(fd) }
        fd = -1
        encoder.removeAll()
        written = 0
        acks = FrameDecoder(maxFrameBytes: 64 * 1024)
        guard resend else { return }
        // Everything not acknowledged goes out again, in order, after the reconnect.
        let again = Array(unacked[unackedHead...]) + Array(unsent[unsentHead...])
        unacked.removeAll(keepingCapacity: true)
        unackedHead = 0
        unsent = again
        unsentHead = 0
        nextAttempt = MonotonicClock.deadline(after: backoff)
    }

    // MARK: sending and acknowledgements

    private func pump() {
        // Encode while the previous frame is fully written and records wait.
        var progress = true
        while progress && fd >= 0 {
            progress = false
            if written == encoder.bytes.count {
                encoder.removeAll()
                written = 0
                if unsentHead < unsent.count {
                    encodeBatch()
                }
                if encoder.bytes.isEmpty { resendProbeIfOverdue() }
            }
            if written < encoder.bytes.count {
                let n = encoder.bytes.withUnsafeBytes { raw in
                    send(fd, raw.baseAddress! + written, raw.count - written, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                }
                if n > 0 {
                    written += n
                    progress = true
                } else if n < 0 && errno != EAGAIN && errno != EINTR {
                    return lost("send: \(SystemError(call: "send", errno: errno))")
                }
            }
            if readAcks() { progress = true }
        }
    }

    private func encodeBatch() {
        var maxCount = WireProtocol.maxRecordsPerBatch
        var through = UInt64.max
        if suspectsThrough > 0 {
            if unsent[unsentHead].sequence > suspectsThrough {
                suspectsThrough = 0  // every suspect was taken: the refusal was not about a record
            } else {
                guard unackedHead == unacked.count else { return }  // one batch at a time
                maxCount = probeSize
                through = suspectsThrough
                probeSentAt = MonotonicClock.now()
            }
        }
        let limit = shipper.configuration.batchBytes
        let start = encoder.beginBatch()
        var count = 0
        var size = 0
        while unsentHead < unsent.count && count < maxCount && unsent[unsentHead].sequence <= through {
            var record = unsent[unsentHead]
            let recordSize: Int
            if let fits = record.encodedSizeWithinWireLimits {
                recordSize = fits
            } else {
                // Rare: what the caller passed breaks a limit of the protocol. Cut (saying so in
                // the record) rather than have the collector refuse it; kept cut for any resend.
                record = record.clampedToWireLimits()
                recordSize = FrameEncoder.encodedSize(of: record)
            }
            if count > 0 && size + recordSize > limit { break }
            encoder.appendRecord(record)
            unacked.append(record)
            unsentHead += 1
            count += 1
            size += recordSize
        }
        encoder.endBatch(start, count: count)
        if unsentHead == unsent.count {
            unsent.removeAll(keepingCapacity: true)
            unsentHead = 0
        } else if unsentHead > 4096 && unsentHead * 2 > unsent.count {
            // A collector slower than the callers for a long time: `unsent` is never empty at
            // this point, and without this every record sent meanwhile stayed referenced here
            // (outside `held`) until it was. As `unacked` does in `acknowledge`.
            unsent.removeSubrange(..<unsentHead)
            unsentHead = 0
        }
    }

    /// While isolating: the batch in flight is sent again when its ack is overdue. The collector
    /// may have routed those records on the connection it closed and acknowledge them only to
    /// that one; a resend is recognised as a duplicate and acknowledged here.
    private func resendProbeIfOverdue() {
        guard suspectsThrough > 0, unackedHead < unacked.count,
            MonotonicClock.now() &- probeSentAt >= Self.probeRetryNanoseconds
        else { return }
        let start = encoder.beginBatch()
        for record in unacked[unackedHead...] { encoder.appendRecord(record) }
        encoder.endBatch(start, count: unacked.count - unackedHead)
        probeSentAt = MonotonicClock.now()
    }

    /// Reads whatever acknowledgements arrived; true when any did.
    private func readAcks() -> Bool {
        var buffer = (
            0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64
        )
        var any = false
        while fd >= 0 {
            let n = withUnsafeMutableBytes(of: &buffer) { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n == 0 { lost("the collector closed the connection"); return any }
            if n < 0 {
                if errno != EAGAIN && errno != EINTR { lost("recv: \(SystemError(call: "recv", errno: errno))") }
                return any
            }
            withUnsafeBytes(of: &buffer) { acks.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            do {
                while let frame = try acks.nextFrame() {
                    switch frame {
                    case .ack(let sequence):
                        acknowledge(upTo: sequence)
                        any = true
                        backoff = shipper.configuration.reconnectDelay.minimum
                        if suspectsThrough > 0 && !narrowed && unackedHead == unacked.count {
                            probeSize = min(probeSize * 2, WireProtocol.maxRecordsPerBatch)
                        }
                    case .goodbye(let reason):
                        lost("the collector said goodbye: \(reason)", refusal: reason)
                        return any
                    default:
                        break
                    }
                }
            } catch {
                lost("bad frame from the collector: \(error)")
            }
        }
        return any
    }

    private func acknowledge(upTo sequence: UInt64) {
        var released = 0
        while unackedHead < unacked.count && unacked[unackedHead].sequence <= sequence {
            unackedHead += 1
            released += 1
        }
        // After a reconnect the welcome may cover records not yet re-encoded.
        while unackedHead == unacked.count && unsentHead < unsent.count && unsent[unsentHead].sequence <= sequence {
            unsentHead += 1
            released += 1
        }
        if unackedHead == unacked.count {
            unacked.removeAll(keepingCapacity: true)
            unackedHead = 0
        } else if unackedHead > 4096 && unackedHead * 2 > unacked.count {
            unacked.removeSubrange(..<unackedHead)
            unackedHead = 0
        }
        if !refusalReports.isEmpty { refusalReports.removeAll { $0 <= sequence } }
        shipper.lock.withLock { state in
            if sequence > state.statistics.acknowledged { state.statistics.acknowledged = sequence }
            state.held -= released
            if state.waiters > 0 { shipper.lock.broadcast() }
        }
    }

    /// The connection is gone. `refusal`: the reason of the collector's goodbye, when it said one.
    private func lost(_ reason: String, refusal: String? = nil) {
        // A collector that stops cleanly acknowledges everything it stored and then closes:
        // those acks may still sit unread behind the error that brought us here. Take them
        // first, or their records would be sent again. A goodbye may sit there too (a send
        // failed because the collector had closed after refusing a batch).
        var refusal = refusal
        if fd >= 0, let said = takeFinalFrames() { refusal = refusal ?? said }
        StandardError.write("journal-bridge: lost the collector (\(reason)); resending what it did not acknowledge\n")
        if let refusal { isolate(refusedBecause: refusal) }
        reportedFailure = true
        disconnect(resend: true)
        // A collector that keeps refusing is retried ever more slowly; the first ack resets this.
        backoff = min(backoff * 2, shipper.configuration.reconnectDelay.maximum)
    }

    /// The collector refused what was in flight: start isolating the culprit, narrow it down,
    /// or, when one suspect was refused alone, drop it.
    private func isolate(refusedBecause reason: String) {
        let inFlight = unacked.count - unackedHead
        guard inFlight > 0 else { return }
        if suspectsThrough > 0 && inFlight == 1 {
            let record = unacked[unackedHead]
            unackedHead += 1
            suspectsThrough = 0
            drop(record, refusedBecause: reason)
        } else {
            narrowed = suspectsThrough > 0
            suspectsThrough = unacked[unacked.count - 1].sequence
            probeSize = 1
        }
    }

    /// Drops a record the collector refused on its own; counts it and queues a record saying so
    /// (after every record already taken, so sequence order holds).
    private func drop(_ record: LogRecord, refusedBecause reason: String) {
        let isReport = refusalReports.contains(record.sequence)
        refusalReports.removeAll { $0 == record.sequence }
        StandardError.write(
            "journal-bridge: the collector refused record \(record.sequence) (\(reason)); dropped it, the others go on\n"
        )
        shipper.lock.withLock { state in
            state.held -= 1
            state.statistics.refused += 1
            if !isReport {
                var report = LogRecord(
                    level: .warning, label: "journal-bridge",
                    message: "dropped 1 record: refused by the collector: \(reason)",
                    metadata: [MetadataField("dropped", "1"), MetadataField("reason", reason)],
                    origin: .unattributed
                )
                report.sequence = state.nextSequence
                state.nextSequence += 1
                state.held += 1
                state.queue.append(QueuedRecord(record: report, base: [:], explicit: nil))
                refusalReports.append(report.sequence)
            }
            if state.waiters > 0 { shipper.lock.broadcast() }
        }
    }

    /// Reads what the collector sent before closing: applies its acks, returns its goodbye's reason.
    private func takeFinalFrames() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            acks.append(buffer[0..<n])
        }
        var goodbye: String?
        while let frame = try? acks.nextFrame() {
            switch frame {
            case .ack(let sequence): acknowledge(upTo: sequence)
            case .goodbye(let reason): goodbye = reason
            default: break
            }
        }
        return goodbye
    }
}

extension Origin {
    /// For records whose sender the collector fills in from SO_PEERCRED.
    package static let unattributed = Origin(pid: 0, uid: 0, gid: 0, identifier: "")
}
