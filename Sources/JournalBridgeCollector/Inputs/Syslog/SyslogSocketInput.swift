import CJournalBridgeShims
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Synchronization

/// A syslog input of either kind: its socket (bound now, or systemd's), a wake pipe that
/// tells its thread to stop, and the thread, which runs the endpoint's loop: datagrams
/// (`SyslogDatagramLoop`, a Unix datagram socket or UDP) or a stream's connections
/// (`SyslogStreamLoop`, a Unix stream socket or TCP, `streamThreads` threads sharing them).
package final class SyslogSocketInput: SyslogInput {
    /// Where it listens and its limits.
    package let settings: SyslogInputSettings
    /// What it saw: messages, malformed, cut, dropped by the kernel, refused connections.
    package let counters = SyslogCounters()
    /// The flag that configures it (`syslog-socket`, ...).
    package var name: String { settings.endpoint.name }
    /// The socket and the wake pipe, from `start` to `close`.
    private let descriptors = ConditionLock<(socket: Int32, wakeRead: Int32, wakeWrite: Int32)?>(nil)
    /// Started by `start`, joined by `stopReading`; each thread holds its loop, not the input.
    private let threads: [OwnedThread]

    /// Threads of a stream input: four, as many workers as rsyslog 8.2302's imtcp runs beside
    /// its listener on Debian 12 (`ps -T`). On a busy host the scheduler shares the cores among
    /// threads: one reader facing many senders gets one share of many and falls behind, though
    /// its work per message is no more than rsyslog's (scripts/bench-report, docs/performance.md).
    package static let streamThreads = 4

    /// An input for `settings`; nothing is opened until `start`.
    package init(settings: SyslogInputSettings) {
        self.settings = settings
        self.threads = (0..<(settings.endpoint.isStream ? Self.streamThreads : 1)).map { _ in OwnedThread() }
    }

    deinit {
        stopReading()
        close()
    }

    /// Open connections (always 0 for datagrams).
    package var connectionCount: Int { counters.openConnections.load(ordering: .relaxed) }

    /// The bound address (`127.0.0.1:5140`) of a network input, nil before `start` or for a Unix socket.
    package var localAddress: String? { descriptors.withLock { $0 }.flatMap { SyslogSocket.localAddress($0.socket) } }

    /// Binds (or adopts) the socket and starts the thread; a failure leaves nothing open.
    /// A datagram input does not use the memory budget: it reads into one buffer of its own.
    package func start(_ context: InputContext) throws(SystemError) {
        let fd = try SyslogSocket.open(settings)
        var pipe: [Int32] = [-1, -1]
        do {
            if !settings.endpoint.isStream {
                try syscall("setsockopt SO_PASSCRED") {
                    c_jb_enable_datagram_info(fd, settings.endpoint.isUnix ? 1 : 0)
                }
            }
            try syscall("pipe") { c_jb_pipe(&pipe) }
        } catch {
            if settings.listeningDescriptor == nil {
                Glibc.close(fd)
                SyslogSocket.remove(settings)
            }
            throw error
        }
        descriptors.withLock { $0 = (fd, pipe[0], pipe[1]) }
        let delivery = SyslogDelivery(input: settings.endpoint.name, context: context, counters: counters)
        if settings.endpoint.isStream {
            let shares = SyslogStreamLoop.StreamShares(threads: threads.count)
            for (index, thread) in threads.enumerated() {
                let loop = SyslogStreamLoop(
                    socket: fd, wake: pipe[0], settings: settings, counters: counters, delivery: delivery, index: index,
                    shares: shares)
                thread.start(name: "jb-syslog-strm") { loop.run() }
            }
        } else {
            let loop = SyslogDatagramLoop(
                socket: fd, wake: pipe[0], settings: settings, counters: counters, delivery: delivery)
            threads[0].start(name: "jb-syslog-dgram") { loop.run() }
        }
    }

    /// Reads and routes what already arrived, then joins the thread.
    package func stopReading() {
        guard threads.contains(where: \.isRunning) else { return }
        if let wake = descriptors.withLock({ $0?.wakeWrite }) {
            var byte: UInt8 = 1
            // Never read, the byte keeps the pipe readable: it wakes every thread. A full pipe
            // already wakes them: nothing to retry.
            _ = write(wake, &byte, 1)
        }
        for thread in threads { thread.join() }
    }

    /// Closes the socket (unlinking a socket file it bound) and the wake pipe.
    package func close() {
        guard
            let open = descriptors.withLock({ d -> (socket: Int32, wakeRead: Int32, wakeWrite: Int32)? in
                defer { d = nil }; return d
            })
        else { return }
        if settings.listeningDescriptor == nil {
            Glibc.close(open.socket)
            SyslogSocket.remove(settings)
        }
        Glibc.close(open.wakeRead)
        Glibc.close(open.wakeWrite)
    }
}
