#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Logging
import Synchronization

/// The Python pattern's QueueListener, done properly: accepts many worker connections on a
/// Unix socket, attributes each record to its sender with SO_PEERCRED, routes it
/// to the sinks (each on its own queue and thread) and acknowledges it once
/// every sink has written it. Embedded in a parent process, or run as the daemon.
public final class Collector: Sendable {
    public let configuration: CollectorConfiguration
    public let router: Router
    /// What unfinished frames and queued records may hold (`configuration.memoryLimit`).
    package let memoryBudget: MemoryBudget
    private let loop: ConditionLock<CollectorLoop?>
    private let thread = ConditionLock<pthread_t?>(nil)
    /// Syslog listeners beside the bridge's socket (`configuration.syslogInputs`), started and stopped with it.
    package let syslogInputs: [any SyslogInput]

    /// `routes` are wrapped in `SinkQueue`s unless they already are.
    public init(configuration: CollectorConfiguration, routes: [SinkRoute]) {
        self.configuration = configuration
        let budget = MemoryBudget(limit: configuration.memoryLimit)
        self.memoryBudget = budget
        self.router = Router(
            routes: routes.map { route in
                let queue = route.sink as? SinkQueue ?? SinkQueue(route.sink, capacity: configuration.sinkQueueCapacity)
                queue.useBudget(budget)
                return SinkRoute(queue, minimumLevel: route.minimumLevel)
            }
        )
        self.loop = ConditionLock(nil)
        self.syslogInputs = configuration.syslogInputs.map(makeSyslogInput)
    }

    /// Binds (or adopts) the socket and starts serving.
    public func start() throws(SystemError) {
        let listener: Int32
        if let fd = configuration.listeningDescriptor {
            listener = fd
            UnixSocket.setNonBlocking(fd)
        } else {
            try FileDescriptorIO.createParentDirectory(of: configuration.socketPath)
            // Mode and group are set as the socket is made, never by path afterwards (see `UnixSocket.listen`).
            listener = try UnixSocket.listen(path: configuration.socketPath, mode: configuration.socketMode, group: configuration.socketGroup)
        }
        let loop = try CollectorLoop(listener: listener, configuration: configuration, router: router, budget: memoryBudget)
        self.loop.withLock { $0 = loop }
        let started = startThread(name: "jb-collector") { loop.run() }
        thread.withLock { $0 = started }
        for (index, input) in syslogInputs.enumerated() {
            do {
                try input.start(router: router, budget: memoryBudget)
            } catch {
                for started in syslogInputs[..<index] { started.stopReading() }
                stop()
                for started in syslogInputs[..<index] { started.close() }
                throw SystemError(call: "\(input.settings.endpoint): \(error.call)", errno: error.errno)
            }
        }
    }

    /// Stops accepting, reads what clients already sent, writes every accepted record
    /// to every sink, acknowledges it, and closes. Returns when all of that is done.
    public func stop() {
        guard let loop = loop.withLock({ $0 }) else { return }
        for input in syslogInputs { input.stopReading() }
        loop.requestStop()
        if let thread = thread.withLock({ t -> pthread_t? in defer { t = nil }; return t }) {
            pthread_join(thread, nil)
        }
        router.flush()
        loop.finish()
        for input in syslogInputs { input.close() }
        router.close()
        if configuration.listeningDescriptor == nil { unlink(configuration.socketPath) }
        self.loop.withLock { $0 = nil }
    }

    /// Reopens every file sink (SIGHUP, after an external logrotate).
    public func reopen() { router.reopen() }

    public var statistics: Router.Statistics { router.statistics }

    public var isRunning: Bool { loop.withLock { $0 != nil } }

    public var connectionCount: Int { loop.withLock { $0?.connectionCount.load(ordering: .relaxed) ?? 0 } }
}
