#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import JournalBridgeCollector

/// `journal-bridge collect`: the collector as a service. SIGTERM/SIGINT drain and
/// exit 0, SIGHUP reopens the files (after an external logrotate) and reloads the configuration
/// (`DaemonOperations.reload`).
package enum Daemon {
    /// Runs until SIGTERM/SIGINT. Signals are taken with sigwait on this thread, so
    /// they must be blocked before any other thread starts; this does it first.
    ///
    /// Throws `ConfigurationError` (exit 78) for what `DaemonConfiguration.validateEnvironment`
    /// finds, the same checks `check-config` runs; anything that fails after them (the log
    /// files cannot be opened, the socket is busy) is a `RuntimeFailure` (exit 1), which a
    /// restart may fix.
    ///
    /// `reload` reads the configuration again on SIGHUP (the file with the command line's flags
    /// on top); nil: the file at `source` alone.
    package static func run(
        _ configuration: DaemonConfiguration, source: String,
        reload: (@Sendable () throws(ConfigurationError) -> DaemonConfiguration)? = nil
    ) throws {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
        checkPthread(pthread_sigmask(SIG_BLOCK, &signals, nil), "pthread_sigmask")

        let syslogActivated = SyslogActivation.descriptors()
        let (activated, activatedControl) = Systemd.activatedSockets(excluding: Set(syslogActivated.map(\.fd)))
        try configuration.validateEnvironment(
            source: source, activated: (activated != nil, Set(syslogActivated.map(\.name))))
        let routes: [SinkRoute]
        do {
            routes = try configuration.sinks.makeRoutes()
        } catch {
            throw RuntimeFailure("cannot open the log files: \(error)")
        }
        var collectorConfiguration = CollectorConfiguration(
            socketPath: configuration.socketPath,
            listeningDescriptor: activated,
            socketMode: configuration.socketMode,
            socketGroup: configuration.socketGroup.flatMap(DaemonConfiguration.groupID),
            sinkQueueCapacity: configuration.sinkQueueCapacity,
            maxConnections: configuration.maxConnections,
            defaultIdentifier: configuration.defaultIdentifier,
            memoryLimit: configuration.collectorMemoryLimit
        )
        collectorConfiguration.rateLimit = configuration.rateLimit
        collectorConfiguration.syslogInputs = configuration.syslogInputSettings(activated: syslogActivated)
        let collector = Collector(configuration: collectorConfiguration, routes: routes)
        let listening = activated.map { "fd \($0) from systemd" } ?? configuration.socketPath
        do {
            try collector.start()
        } catch {
            let hint = error.errno == EADDRINUSE ? " (another collector is listening there)" : ""
            throw RuntimeFailure("cannot listen on \(listening): \(error)\(hint)")
        }
        StandardError.write("journal-bridge: collecting on \(listening)\n")
        let operations = DaemonOperations(
            collector: collector, configuration: configuration, source: source, load: reload)
        operations.startControl(activated: activatedControl)
        operations.announce(.started, .notice, "journal-bridge collector started on \(listening)")
        for input in collector.syslogInputs { StandardError.write("journal-bridge: \(SyslogInputs.describe(input))\n") }
        Systemd.notify("READY=1\nSTATUS=collecting on \(listening)\nMAINPID=\(getpid())")
        let watchdog = WatchdogPinger { collector.isRunning }

        var lastTick = MonotonicClock.now()
        while true {
            // Woken every second to write the metrics textfile and STATUS= when they are due.
            var timeout = timespec(tv_sec: 1, tv_nsec: 0)
            let received = sigtimedwait(&signals, nil, &timeout)
            if received == SIGHUP {
                collector.reopen()
                StandardError.write("journal-bridge: reopened the log files\n")
                operations.reload()
                continue
            }
            if received == SIGTERM || received == SIGINT { break }
            let now = MonotonicClock.now()
            if now &- lastTick >= MonotonicClock.nanoseconds(Double(operations.interval)) {
                lastTick = now
                operations.tick()
            }
        }
        Systemd.notify("STOPPING=1\nSTATUS=draining")
        watchdog?.stop()
        operations.stopControl()
        operations.announce(.stopped, .notice, "journal-bridge collector stopping: \(collector.snapshot.summary)")
        collector.stop()
        operations.tick(notify: false)
        let statistics = collector.statistics
        // Every sink's losses in the last line: a record a sink failed to write was still acknowledged.
        let perSink = statistics.perSink.map { "\($0.name): \($0.failed) failed, \($0.packed) packed" }.joined(
            separator: "; ")
        for input in collector.syslogInputs {
            StandardError.write("journal-bridge: \(input.settings.endpoint): \(input.counters.summary)\n")
        }
        StandardError.write("journal-bridge: stopped after \(statistics.total) records (\(perSink))\n")
    }
}
