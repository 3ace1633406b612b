#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Logging

/// The Python pattern's QueueListener, done properly, as a pipeline: inputs → router → routes.
/// The bridge's input (`BridgeInput`) accepts many worker connections on a Unix socket and
/// attributes each record to its sender with SO_PEERCRED; the router hands each record to
/// every route whose level admits it, each route's sink behind one bounded queue and thread
/// of its own; a batch is acknowledged once every sink has written it. Embedded in a parent
/// process, or run as the daemon.
///
/// Thread owner (`OwnedThread`): `init` starts the queues' threads and `start()` the inputs';
/// `stop()` joins them all, and `deinit` stops a collector that was not stopped (one never
/// started closes its sinks).
public final class Collector: Sendable {
    /// The socket and limits the collector was made with.
    public let configuration: CollectorConfiguration
    /// The router the collector hands records to; a `DirectLogHandler` on it logs the parent's own records to the same sinks.
    public let router: Router
    /// What unfinished frames and queued records may hold (`configuration.memoryLimit`).
    package let memoryBudget: MemoryBudget
    package let inputs: [any Input]
    /// Counters per input and source (Metrics/); the sinks' are in each queue's `SinkTally`.
    package let inputTally = InputTally()
    /// The fair share per source (`configuration.rateLimit`; a reload replaces its limit).
    package let rateLimiter: SourceRateLimiter
    private enum Phase { case idle, running, stopped }
    private let phase = ConditionLock(Phase.idle)

    /// Listens as `configuration` says (the bridge's input, and its syslog inputs if any) and
    /// writes to `routes`, each route's sink behind one queue with the route's policy.
    public convenience init(configuration: CollectorConfiguration, routes: [SinkRoute]) {
        let syslog = configuration.syslogInputs.map(makeSyslogInput)
        self.init(
            configuration: configuration, inputs: [BridgeInput(configuration: configuration)] + syslog, routes: routes)
    }

    /// The syslog inputs among `inputs`, for their counts.
    package var syslogInputs: [any SyslogInput] { inputs.compactMap { $0 as? any SyslogInput } }

    /// A collector with the given inputs (none listens until `start`).
    package init(configuration: CollectorConfiguration, inputs: [any Input], routes: [SinkRoute]) {
        self.configuration = configuration
        let budget = MemoryBudget(limit: configuration.memoryLimit)
        self.memoryBudget = budget
        self.router = Router(routes: routes, queueCapacity: configuration.sinkQueueCapacity, budget: budget)
        self.inputs = inputs
        self.rateLimiter = SourceRateLimiter(configuration.rateLimit)
    }

    deinit {
        stop()
        router.close()  // a collector never started: its queues' threads and sinks (else done already)
    }

    /// Starts every input (binds or adopts its socket). If one fails, those started are stopped.
    /// Again while running: nothing. After `stop()` a collector cannot start again (its sinks
    /// are closed): that throws EINVAL.
    public func start() throws(SystemError) {
        let previous = phase.withLock { phase -> Phase in
            defer { if phase == .idle { phase = .running } }
            return phase
        }
        switch previous {
        case .running: return
        case .stopped:
            throw SystemError(
                call: "start: this collector was stopped (its sinks are closed); make a new one", errno: EINVAL)
        case .idle: break
        }
        let context = InputContext(router: router, budget: memoryBudget, tally: inputTally, limiter: rateLimiter)
        for (index, input) in inputs.enumerated() {
            do {
                try input.start(context)
            } catch {
                for started in inputs[..<index] { started.stopReading() }
                for started in inputs[..<index] { started.close() }
                phase.withLock { $0 = .idle }
                throw error
            }
        }
    }

    /// Stops accepting, reads what clients already sent, writes every accepted record
    /// to every sink, acknowledges it, and closes. Returns when all of that is done.
    public func stop() {
        let wasRunning = phase.withLock { phase -> Bool in
            defer { if phase == .running { phase = .stopped } }
            return phase == .running
        }
        guard wasRunning else { return }
        for input in inputs { input.stopReading() }
        router.flush()
        for input in inputs { input.close() }
        router.close()
    }

    /// Reopens every file sink (SIGHUP, after an external logrotate).
    public func reopen() { router.reopen() }

    /// Records routed per level and per sink so far.
    public var statistics: Router.Statistics { router.statistics }

    /// Every counter and gauge at one moment (`CollectorSnapshot`).
    package var snapshot: CollectorSnapshot {
        let usage = memoryBudget.current
        return CollectorSnapshot(
            sinks: router.tallies.map(\.snapshot), inputs: inputTally.snapshot,
            levels: router.statistics.perLevel, connections: connectionCount,
            unfinishedFrameBytes: usage.frames, queuedRecordBytes: usage.records
        )
    }

    package var isRunning: Bool { phase.withLock { $0 == .running } }

    package var connectionCount: Int { inputs.reduce(0) { $0 + $1.connectionCount } }
}
