#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Logging

/// The Python pattern's listener, done properly, as a pipeline: inputs → router → routes.
/// The bridge's input (`BridgeInput`) accepts many worker connections on a Unix socket and
/// attributes each record to its sender with SO_PEERCRED; the router hands each record to
/// every route whose level admits it, each route's sink behind one bounded queue and thread
/// of its own; a batch is acknowledged once every sink has written it. Embedded in a parent
/// process, or run as the daemon.
///
/// Thread owner (`OwnedThread`): `start()` starts the inputs' and the queues' threads,
/// `stop()` joins them all, and `deinit` stops a collector that was not stopped.
public final class Collector: Sendable {
    public let configuration: CollectorConfiguration
    public let router: Router
    /// What unfinished frames and queued records may hold (`configuration.memoryLimit`).
    package let memoryBudget: MemoryBudget
    package let inputs: [any Input]
    private let running = ConditionLock(false)

    /// Listens as `configuration` says (the bridge's input) and writes to `routes`, each
    /// route's sink behind one queue with the route's policy.
    public convenience init(configuration: CollectorConfiguration, routes: [SinkRoute]) {
        self.init(configuration: configuration, inputs: [BridgeInput(configuration: configuration)], routes: routes)
    }

    /// A collector with the given inputs (none listens until `start`).
    package init(configuration: CollectorConfiguration, inputs: [any Input], routes: [SinkRoute]) {
        self.configuration = configuration
        let budget = MemoryBudget(limit: configuration.memoryLimit)
        self.memoryBudget = budget
        self.router = Router(routes: routes, queueCapacity: configuration.sinkQueueCapacity, budget: budget)
        self.inputs = inputs
    }

    deinit { stop() }

    /// Starts every input (binds or adopts its socket). If one fails, those started are stopped.
    public func start() throws(SystemError) {
        let context = InputContext(router: router, budget: memoryBudget)
        for (index, input) in inputs.enumerated() {
            do {
                try input.start(context)
            } catch {
                for started in inputs[..<index] { started.stopReading() }
                for started in inputs[..<index] { started.close() }
                throw error
            }
        }
        running.withLock { $0 = true }
    }

    /// Stops accepting, reads what clients already sent, writes every accepted record
    /// to every sink, acknowledges it, and closes. Returns when all of that is done.
    public func stop() {
        guard running.withLock({ running in defer { running = false }; return running }) else { return }
        for input in inputs { input.stopReading() }
        router.flush()
        for input in inputs { input.close() }
        router.close()
    }

    /// Reopens every file sink (SIGHUP, after an external logrotate).
    public func reopen() { router.reopen() }

    public var statistics: Router.Statistics { router.statistics }

    public var isRunning: Bool { running.withLock { $0 } }

    public var connectionCount: Int { inputs.reduce(0) { $0 + $1.connectionCount } }
}
