#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// `journal-bridge collect`: the collector as a service. SIGTERM/SIGINT drain and
/// exit 0, SIGHUP reopens the files (after an external logrotate).
public enum Daemon {
    /// Runs until SIGTERM/SIGINT. Signals are taken with sigwait on this thread, so
    /// they must be blocked before any other thread starts; this does it first.
    public static func run(_ configuration: DaemonConfiguration, source: String) throws(ConfigurationError) {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let activated = Systemd.activatedSocket()
        try configuration.validateEnvironment(source: source)
        let routes: [SinkRoute]
        do {
            routes = try configuration.sinks.makeRoutes().map { route in
                let overflow: SinkQueue.Overflow = route.sink is JournaldSink ? configuration.journaldOverflow : .block
                return SinkRoute(
                    SinkQueue(route.sink, capacity: configuration.sinkQueueCapacity, overflow: overflow), minimumLevel: route.minimumLevel
                )
            }
        } catch {
            throw ConfigurationError(.unwritable, key: "base", source: source, "\(error)")
        }
        let collector = Collector(
            configuration: CollectorConfiguration(
                socketPath: configuration.socketPath,
                listeningDescriptor: activated,
                socketMode: configuration.socketMode,
                socketGroup: configuration.socketGroup.flatMap(DaemonConfiguration.groupID),
                sinkQueueCapacity: configuration.sinkQueueCapacity,
                maxConnections: configuration.maxConnections,
                defaultIdentifier: configuration.defaultIdentifier,
                memoryLimit: configuration.memoryLimit
            ),
            routes: routes
        )
        do {
            try collector.start()
        } catch {
            throw ConfigurationError(.unwritable, key: "socket", source: source, "\(error)")
        }
        let listening = activated.map { "fd \($0) from systemd" } ?? configuration.socketPath
        StandardError.write("journal-bridge: collecting on \(listening)\n")
        Systemd.notify("READY=1\nSTATUS=collecting on \(listening)\nMAINPID=\(getpid())")
        let watchdog = WatchdogPinger { collector.isRunning }

        while true {
            var received: Int32 = 0
            guard sigwait(&signals, &received) == 0 else { continue }
            if received == SIGHUP {
                collector.reopen()
                StandardError.write("journal-bridge: reopened the log files\n")
                continue
            }
            break
        }
        Systemd.notify("STOPPING=1\nSTATUS=draining")
        watchdog?.stop()
        collector.stop()
        let statistics = collector.statistics
        StandardError.write("journal-bridge: stopped after \(statistics.total) records\n")
    }
}
