#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The connection to one receiver, driven by one NIO event loop thread of its own: connects
/// (again, with a backoff, after any failure), frames the buffer's messages for the
/// transport, and confirms them to the buffer: TCP and TLS when NIO has written them to the
/// socket, RELP when the receiver acknowledged them (`rsp 200`). A broken connection sends
/// again everything not confirmed. All its state is touched on its event loop only (hence
/// `@unchecked Sendable`); other threads only `kick` it.
final class ForwardLink: @unchecked Sendable {
    /// `handshaking`: TLS until its handshake completes; `opening`: RELP until `open` is answered.
    private enum Phase { case idle, connecting, handshaking, opening, ready, closing }

    let destination: ForwardDestination
    private let buffer: ForwardBuffer
    private let options: ForwardOptions
    private let formatter: SyslogFormatter
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let loop: any EventLoop
    private let kicked = Atomic<Bool>(false)
    private let problem = ConditionLock<String?>(nil)
    private var failure: FailureReport
    private let tls: Result<NIOSSLContext, any Error>?

    private var phase = Phase.idle
    private var channel: (any Channel)?
    private var retryScheduled = false
    private var retryDelay = ForwardLink.firstRetry
    /// RELP: the next transaction number, and the messages sent and not acknowledged.
    private var txnr = 1
    private var unacknowledged = CircularBuffer<(txnr: Int, id: UInt64)>()
    private var openTxnr = 0
    /// RELP: when a response last came (or the window last emptied), and the watch on it.
    private var lastResponse: UInt64 = 0
    private var responseWatch: RepeatedTask?
    /// RELP: a receiver that leaves messages unanswered this long is taken for gone.
    private static let responseTimeout: UInt64 = 10_000_000_000
    /// A connection not ready this long after it connected (TLS handshake, RELP `open`) is
    /// taken for gone: a receiver that never finished either held the link for ever, and
    /// NIOSSL kept every write made during the handshake, with no bound.
    private static let setupTimeout: Int64 = 10
    /// Reports of records a full buffer dropped, sent on this connection and not yet confirmed:
    /// RELP's by transaction, TCP's and TLS's by the chunk's write. The report is not the
    /// buffer's (not sent again by `rewind`): if the connection breaks first, its count goes
    /// back to the buffer and the next connection says it.
    private var reportsInFlight: [(txnr: Int, count: Int)] = []
    private var reportedCount = 0
    /// Counts connections: a response decoded for one is not applied to the next.
    private var generation = 0
    private var closeTxnr = -1

    private static let firstRetry: Int64 = 100
    private static let lastRetry: Int64 = 5_000
    private static let chunkBytes = 64 * 1024

    init(destination: ForwardDestination, buffer: ForwardBuffer, options: ForwardOptions, formatter: SyslogFormatter) {
        self.destination = destination
        self.buffer = buffer
        self.options = options
        self.formatter = formatter
        self.loop = group.next()
        self.failure = FailureReport(sink: "forward \(destination)")
        self.tls = destination.transport == .tls ? Result { try ForwardTLS.makeContext(options) } : nil
    }

    /// Why the last connection failed or broke, if one did.
    var lastProblem: String? { problem.withLock { $0 } }

    /// Something to send: wakes the loop (once, however many threads call).
    func kick() {
        guard !kicked.exchange(true, ordering: .acquiringAndReleasing) else { return }
        loop.execute { [self] in
            kicked.store(false, ordering: .releasing)
            pump()
        }
    }

    /// Says goodbye (RELP `close`), closes, stops the thread. Waits for it.
    func shutdown() {
        let closed = loop.submit { [self] () -> EventLoopFuture<Void> in
            let current = phase
            phase = .closing
            guard let channel else { return loop.makeSucceededVoidFuture() }
            if destination.transport == .relp && current == .ready {
                var frame = channel.allocator.buffer(capacity: 16)
                closeTxnr = txnr
                RELPFrame.encode(
                    txnr: txnr, command: "close", data: UnsafeRawBufferPointer(start: nil, count: 0), into: &frame)
                channel.writeAndFlush(frame, promise: nil)
                // The receiver answers `rsp` and closes; do not wait long for it.
                let deadline = loop.scheduleTask(in: .milliseconds(500)) { channel.close(promise: nil) }
                return channel.closeFuture.always { _ in deadline.cancel() }
            }
            return channel.close()
        }.flatMap { $0 }
        _ = try? closed.wait()  // closing errors say nothing the counts do not
        try? group.syncShutdownGracefully()  // fails only if already shut down
    }

    private func pump() {
        switch phase {
        case .idle:
            if !retryScheduled && buffer.hasUnsent { connect() }
        case .ready:
            send()
        case .connecting, .handshaking, .opening, .closing:
            break
        }
    }

    private func connect() {
        phase = .connecting
        var sslContext: NIOSSLContext?
        if let tls {
            switch tls {
            case .success(let context): sslContext = context
            case .failure(let error):
                fail("TLS configuration: \(error)")
                return
            }
        }
        let host = destination.host
        let serverName = (sslContext != nil && !Self.isAddress(host)) ? host : nil
        let tlsContext = sslContext
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: 256 * 1024, high: 1024 * 1024))
            .channelInitializer { [self] channel in
                do {
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tlsContext, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHandler(ForwardHandler(link: self))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        bootstrap.connect(host: host, port: destination.port).whenComplete { [self] result in
            switch result {
            case .failure(let error):
                fail("cannot connect: \(error)")
            case .success(let channel):
                guard phase == .connecting else {
                    channel.close(promise: nil)
                    return
                }
                self.channel = channel
                generation += 1
                buffer.rewind()
                unacknowledged.removeAll()
                txnr = 1
                let connectedOn = generation
                loop.scheduleTask(in: .seconds(Self.setupTimeout)) { [self] in
                    guard connectedOn == generation, phase == .handshaking || phase == .opening else { return }
                    fail(
                        phase == .handshaking
                            ? "TLS: the handshake did not finish in \(Self.setupTimeout) s"
                            : "RELP: no answer to open in \(Self.setupTimeout) s")
                }
                if destination.transport == .tls {
                    phase = .handshaking  // ready when the handshake completes (`handshakeCompleted`)
                } else if destination.transport == .relp {
                    phase = .opening
                    openTxnr = txnr
                    var frame = channel.allocator.buffer(capacity: 128)
                    let offers = Array("relp_version=0\nrelp_software=journal-bridge,0.1.0,-\ncommands=syslog".utf8)
                    offers.withUnsafeBytes { RELPFrame.encode(txnr: txnr, command: "open", data: $0, into: &frame) }
                    txnr = RELPFrame.next(after: txnr)
                    channel.writeAndFlush(frame, promise: nil)
                } else {
                    ready()
                }
            }
        }
    }

    /// The TLS handshake completed (from the handler, while it handles the event: acted on in a
    /// task of its own, as `received` does).
    func handshakeCompleted() {
        let completedOn = generation
        loop.execute { [self] in
            guard completedOn == generation, phase == .handshaking, channel != nil else { return }
            ready()
        }
    }

    private func ready() {
        phase = .ready
        if destination.transport == .relp {
            lastResponse = MonotonicClock.now()
            responseWatch?.cancel()
            let watchedGeneration = generation
            responseWatch = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] task in
                guard watchedGeneration == generation, phase == .ready else { return task.cancel() }
                if !unacknowledged.isEmpty && MonotonicClock.now() - lastResponse > Self.responseTimeout {
                    fail(
                        "RELP: no response for \(Self.responseTimeout / 1_000_000_000) s to \(unacknowledged.count) messages; reconnecting to send them again"
                    )
                }
            }
        }
        // RELP starts again from the first pause only once a message is acknowledged: a
        // receiver that answers `open` and then breaks the session was reconnected every 100 ms,
        // each time sent the window again (hundreds of thousands of copies in ten minutes).
        if destination.transport != .relp { recovered() }
        send()
    }

    /// The receiver takes messages: the next failure starts from the first pause again.
    private func recovered() {
        retryDelay = Self.firstRetry
        failure.recovered()
    }

    /// Frames messages into chunks while the channel takes them (and RELP's window has room).
    private func send() {
        guard phase == .ready, let channel else { return }
        let relp = destination.transport == .relp
        var wrote = false
        while channel.isWritable {
            var chunk = channel.allocator.buffer(capacity: Self.chunkBytes)
            var lastID: UInt64 = 0
            while chunk.readableBytes < Self.chunkBytes {
                let room = relp ? options.relpWindow - unacknowledged.count : 4096
                guard room > 0 else { break }
                let runs = nextMessages(limit: room, bytes: Self.chunkBytes - chunk.readableBytes)
                guard !runs.isEmpty else { break }
                for run in runs {
                    let block = run.block
                    block.bytes.withUnsafeBytes { bytes in
                        for index in run.range {
                            let message = UnsafeRawBufferPointer(
                                rebasing: bytes[block.start(index)..<block.ends[index]])
                            if block.firstID == 0 {
                                reportsInFlight.append((relp ? txnr : 0, reportedCount))
                                reportedCount = 0
                            }
                            if relp {
                                RELPFrame.encode(txnr: txnr, command: "syslog", data: message, into: &chunk)
                                if unacknowledged.isEmpty { lastResponse = MonotonicClock.now() }
                                unacknowledged.append((txnr, block.id(index)))
                                txnr = RELPFrame.next(after: txnr)
                            } else {
                                // RFC 6587, 3.4.1: octet counting, MSG-LEN SP SYSLOG-MSG.
                                RELPFrame.writeDecimal(message.count, into: &chunk)
                                chunk.writeInteger(UInt8(ascii: " "))
                                chunk.writeBytes(message)
                            }
                        }
                    }
                    if block.firstID != 0 { lastID = block.id(run.range.upperBound - 1) }
                }
            }
            guard chunk.readableBytes > 0 else { break }
            if relp {
                channel.write(chunk, promise: nil)
            } else {
                // Written to the socket = forwarded (TCP): confirmed by the write's promise. TLS 1.3
                // lets the client write before the receiver has checked its certificate, and a
                // refusal comes as an alert after the first flight: TLS confirms a second later, if
                // the connection still stands (else the chunk is sent again). A drop report in the
                // chunk (alone, `lastID` 0, or with records) is confirmed with it.
                let promise = loop.makePromise(of: Void.self)
                let buffer = self.buffer
                let written = lastID
                let reports = reportsInFlight.count
                let writtenOn = generation
                let confirm = { [self] in
                    if written != 0 { buffer.confirm(upTo: written) }
                    if writtenOn == generation { reportsInFlight.removeFirst(min(reports, reportsInFlight.count)) }
                }
                if destination.transport == .tls {
                    promise.futureResult.whenSuccess { [self] in
                        loop.scheduleTask(in: .seconds(1)) { [self] in
                            if writtenOn == generation && self.channel != nil { confirm() }
                        }
                    }
                } else {
                    promise.futureResult.whenSuccess { confirm() }
                }
                channel.write(chunk, promise: promise)
            }
            wrote = true
        }
        if wrote { channel.flush() }
    }

    /// The buffer's next messages, after a report of what a full buffer dropped (id 0: not the buffer's).
    private func nextMessages(limit: Int, bytes: Int) -> [ForwardBuffer.Run] {
        let dropped = buffer.takeUnreportedDrops()
        if dropped > 0 {
            reportedCount = dropped  // taken by `send` with the report's transaction or chunk
            let report = CollectorIdentity.record(
                .warning,
                "\(dropped) records were dropped for \(destination) while it was away or slow (buffer of \(buffer.maximumRecords) records, \(buffer.maximumBytes) bytes full)",
                metadata: [MetadataField("lost", String(dropped))]
            )
            var block = ForwardBuffer.Block()
            block.append(formatter.format(report))
            return [ForwardBuffer.Run(block: block, range: 0..<1)]
        }
        return buffer.next(limit: limit, bytes: bytes)
    }

    // MARK: events from the channel, on the loop

    /// Bytes from the receiver. Only decodes here: what the frames mean is acted on in a task
    /// of its own, so that nothing written or closed while the handler reads can call back
    /// into the handler (NIO delivers events synchronously).
    func received(_ inbound: inout ByteBuffer) {
        guard destination.transport == .relp else {
            inbound.clear()  // a syslog receiver says nothing; whatever it says is ignored
            return
        }
        var frames: [RELPFrame] = []
        var problem: RELPFrame.ProtocolError?
        do {
            while let frame = try RELPFrame.decode(&inbound) { frames.append(frame) }
        } catch {
            problem = error
            inbound.clear()
        }
        guard !frames.isEmpty || problem != nil else { return }
        let decodedFor = generation
        let decoded = frames
        let failure = problem
        loop.execute { [self] in
            guard decodedFor == generation, channel != nil else { return }
            do {
                for frame in decoded { try handle(frame) }
                if let failure { throw failure }
                // Once for all the responses of one read: the window refills in one write.
                send()
            } catch {
                fail("RELP: \(error)")
            }
        }
    }

    private func handle(_ frame: RELPFrame) throws(RELPFrame.ProtocolError) {
        if frame.command == "serverclose" {
            throw RELPFrame.ProtocolError(description: "the receiver closes the session (serverclose)")
        }
        guard frame.command == "rsp" else {
            throw RELPFrame.ProtocolError(description: "unexpected command \"\(frame.command)\"")
        }
        let status = String(decoding: frame.data.prefix(while: { $0 != UInt8(ascii: "\n") }), as: UTF8.self)
        if phase == .opening && frame.txnr == openTxnr {
            guard status.hasPrefix("200") else { throw RELPFrame.ProtocolError(description: "open refused: \(status)") }
            ready()
            return
        }
        if frame.txnr == closeTxnr { return }
        if frame.txnr == openTxnr { return }  // `open` answered again: nothing to act on
        guard status.hasPrefix("200") else { throw RELPFrame.ProtocolError(description: "message refused: \(status)") }
        // Responses come in order; one for a later message answers the earlier ones too.
        guard unacknowledged.contains(where: { $0.txnr == frame.txnr }) else {
            throw RELPFrame.ProtocolError(description: "response to unknown transaction \(frame.txnr)")
        }
        lastResponse = MonotonicClock.now()
        var lastID: UInt64 = 0
        while let first = unacknowledged.first {
            unacknowledged.removeFirst()
            if first.id != 0 { lastID = first.id }
            if first.id == 0 { reportsInFlight.removeAll { $0.txnr == first.txnr } }
            if first.txnr == frame.txnr { break }
        }
        if lastID != 0 { buffer.confirm(upTo: lastID) }
        recovered()
    }

    func writabilityChanged() { send() }

    func caught(_ error: any Error) { fail("\(error)") }

    /// The channel closed (by either side): send again what was not confirmed, after a pause.
    func inactive() {
        channel = nil
        unacknowledged.removeAll()
        buffer.rewind()
        let unconfirmed = reportsInFlight.reduce(0) { $0 + $1.count }
        if unconfirmed > 0 { buffer.restoreUnreportedDrops(unconfirmed) }
        reportsInFlight.removeAll()
        if phase == .closing { return }
        if phase == .ready || phase == .opening || phase == .handshaking { note("connection closed by the receiver") }
        phase = .idle
        scheduleRetry()
    }

    private func fail(_ reason: String) {
        note(reason)
        if let channel {
            channel.close(promise: nil)  // inactive() follows
        } else if phase != .closing {
            phase = .idle
            scheduleRetry()
        }
    }

    private func note(_ reason: String) {
        problem.withLock { $0 = reason }
        failure.failed("\(reason); holding records and retrying", records: 0)
    }

    private func scheduleRetry() {
        guard !retryScheduled, phase != .closing else { return }
        retryScheduled = true
        let delay = retryDelay
        retryDelay = min(Self.lastRetry, retryDelay * 2)
        loop.scheduleTask(in: .milliseconds(delay)) { [self] in
            retryScheduled = false
            pump()
        }
    }

    private static func isAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
