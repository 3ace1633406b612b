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
                _ = poll(&ready, 1, 50)
            }
            // Everything sent, nothing new last turn, only acks to wait for: wait for them on the
            // socket (10 ms at most, so records logged meanwhile are not held longer).
            let awaitingAcks = fd >= 0 && !blocked && idleLastTurn && unsentHead == unsent.count && unackedHead < unacked.count
            if awaitingAcks {
                var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&ready, 1, 10)
            }
            let now = MonotonicClock.now()
            let active = pendingCount > 0 || now - lastActivity < Self.lingerNanoseconds
            let tick = fd < 0 && pendingCount > 0 ? max(Self.tickNanoseconds, nextAttempt &- now) : Self.tickNanoseconds
            let deadline: UInt64? = blocked || awaitingAcks ? now : active ? now + tick : nil
            let closing = shipper.lock.wait(
                until: { !$0.queue.isEmpty || $0.closing || ($0.droppedSinceReport > 0 && $0.held < self.shipper.reportThreshold) },
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
                unsent.reserveCapacity(unsent.count + spare.count)
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
            let socket = try UnixSocket.connect(path: path)
            UnixSocket.setTimeout(socket, option: SO_RCVTIMEO, seconds: 5)
            UnixSocket.setTimeout(socket, option: SO_SNDTIMEO, seconds: 5)
            var hello = FrameEncoder(capacity: 64)
            hello.encode(.hello(Hello(session: shipper.session, identifier: shipper.configuration.identifier)))
            try writeAllBlocking(socket, hello.bytes)
            let acknowledged = try readWelcome(socket)
            UnixSocket.setNonBlocking(socket)
            fd = socket
            backoff = shipper.configuration.reconnectDelay.minimum
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
                StandardError.write("journal-bridge: cannot reach the collector at \(path): \(error); records are kept and retried\n")
            }
            nextAttempt = MonotonicClock.now() + UInt64(backoff * 1e9)
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

    private func writeAllBlocking(_ socket: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = try bytes.withUnsafeBytes { raw in
                try syscall("send") { send(socket, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL)) }
            }
            offset += n
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
        nextAttempt = MonotonicClock.now() + UInt64(backoff * 1e9)
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
        let limit = shipper.configuration.batchBytes
        let start = encoder.beginBatch()
        var count = 0
        var size = 0
        while unsentHead < unsent.count && count < WireProtocol.maxRecordsPerBatch {
            var record = unsent[unsentHead]
            var recordSize = FrameEncoder.encodedSize(of: record)
            if recordSize > WireProtocol.maxFrameBytes - 64 {
                record = record.clampedToWireLimits()
                recordSize = FrameEncoder.encodedSize(of: record)
            }
            if count > 0 && size + recordSize > limit { break }
            encoder.appendRecord(record)
            unacked.append(unsent[unsentHead])
            unsentHead += 1
            count += 1
            size += recordSize
        }
        encoder.endBatch(start, count: count)
        if unsentHead == unsent.count {
            unsent.removeAll(keepingCapacity: true)
            unsentHead = 0
        }
    }

    /// Reads whatever acknowledgements arrived; true when any did.
    private func readAcks() -> Bool {
        var buffer = (0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64)
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
                    case .goodbye(let reason):
                        lost("the collector said goodbye: \(reason)")
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
        shipper.lock.withLock { state in
            if sequence > state.statistics.acknowledged { state.statistics.acknowledged = sequence }
            state.held -= released
            if state.waiters > 0 { shipper.lock.broadcast() }
        }
    }

    private func lost(_ reason: String) {
        // A collector that stops cleanly acknowledges everything it stored and then closes:
        // those acks may still sit unread behind the error that brought us here. Take them
        // first, or their records would be sent again.
        if fd >= 0 { takeFinalAcks() }
        StandardError.write("journal-bridge: lost the collector (\(reason)); resending what it did not acknowledge\n")
        reportedFailure = true
        disconnect(resend: true)
    }

    private func takeFinalAcks() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            acks.append(buffer[0..<n])
        }
        while case .ack(let sequence)? = try? acks.nextFrame() { acknowledge(upTo: sequence) }
    }
}

extension Origin {
    /// For records whose sender the collector fills in from SO_PEERCRED.
    public static let unattributed = Origin(pid: 0, uid: 0, gid: 0, identifier: "")
}

extension LogRecord {
    /// A copy that fits the protocol's limits: long strings cut (with a note), extra metadata dropped.
    public func clampedToWireLimits() -> LogRecord {
        func cut(_ s: String, _ limit: Int) -> String {
            guard s.utf8.count > limit else { return s }
            let note = "…[truncated \(s.utf8.count - limit) bytes]"
            return String(decoding: s.utf8.prefix(limit - note.utf8.count - 4), as: UTF8.self) + note
        }
        var copy = self
        let budget = WireProtocol.maxFrameBytes / 2
        copy.message = cut(message, min(WireProtocol.maxFieldBytes, budget))
        copy.label = cut(label, 4096)
        copy.file = cut(file, 4096)
        copy.function = cut(function, 4096)
        let perValue = max(1024, (WireProtocol.maxFrameBytes - budget - 64 * 1024) / max(1, metadata.count))
        copy.metadata = metadata.prefix(WireProtocol.maxMetadataPerRecord).map {
            MetadataField(cut($0.key, WireProtocol.maxKeyBytes), cut($0.value, min(WireProtocol.maxFieldBytes, perValue)))
        }
        return copy
    }
}
