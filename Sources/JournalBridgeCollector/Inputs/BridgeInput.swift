#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// The bridge's own input: workers' `RecordShipper`s over a Unix stream socket (wire protocol
/// v1, docs/protocol.md). It binds (or adopts) the listening socket, accepts connections up to
/// `maxConnections`, attributes each with `SO_PEERCRED`, keeps each shipper's session for
/// resend and dedup, acknowledges what every sink stored, holds unfinished frames within the
/// memory budget's frame share, and rate-limits its warnings about clients. The I/O is
/// `BridgeLoop`, on the input's own thread.
package final class BridgeInput: Input {
    package let name = "bridge"
    private let configuration: CollectorConfiguration
    private let loop = ConditionLock<BridgeLoop?>(nil)
    /// Started by `start`, joined by `stopReading` (the thread-owner rule, `OwnedThread`); the
    /// thread holds the loop, not the input.
    private let thread = OwnedThread()

    /// The socket and limits come from `configuration` (`socketPath` or `listeningDescriptor`,
    /// `socketMode`, `socketGroup`, `maxConnections`, `readChunkBytes`, `defaultIdentifier`,
    /// `diagnosticsInterval`).
    package init(configuration: CollectorConfiguration) {
        self.configuration = configuration
    }

    deinit {
        stopReading()
        close()
    }

    package func start(_ context: InputContext) throws(SystemError) {
        let listener: Int32
        if let fd = configuration.listeningDescriptor {
            listener = fd
            try UnixSocket.setNonBlocking(fd)
        } else {
            try FileDescriptorIO.createParentDirectory(of: configuration.socketPath)
            // Mode and group are set as the socket is made, never by path afterwards (see `UnixSocket.listen`).
            listener = try UnixSocket.listen(
                path: configuration.socketPath, mode: configuration.socketMode, group: configuration.socketGroup
            )
        }
        let loop: BridgeLoop
        do {
            loop = try BridgeLoop(listener: listener, configuration: configuration, context: context)
        } catch {
            if configuration.listeningDescriptor == nil {
                Glibc.close(listener)
                unlink(configuration.socketPath)
            }
            throw error
        }
        self.loop.withLock { $0 = loop }
        thread.start(name: "jb-collector") { loop.run() }
    }

    package func stopReading() {
        guard let loop = loop.withLock({ $0 }) else { return }
        loop.requestStop()
        thread.join()
    }

    package func close() {
        guard
            let loop = loop.withLock({ loop -> BridgeLoop? in
                defer { loop = nil }; return loop
            })
        else { return }
        loop.finish()
        if configuration.listeningDescriptor == nil { unlink(configuration.socketPath) }
    }

    package var connectionCount: Int { loop.withLock { $0?.connectionCount.load(ordering: .relaxed) ?? 0 } }
}
