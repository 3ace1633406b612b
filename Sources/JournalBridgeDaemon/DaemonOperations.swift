#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import JournalBridgeCollector
import Logging

/// What the daemon does besides collecting: the control channel (`journal-bridge status`),
/// the Prometheus textfile and `STATUS=`, and reloading the configuration on SIGHUP.
/// Used from the daemon's signal thread only (the control thread reads the collector itself).
final class DaemonOperations {
    let collector: Collector
    private(set) var configuration: DaemonConfiguration
    let source: String
    private var control: ControlServer?
    private let reloads = ConditionLock((applied: 0, failed: 0))
    /// The health records' own way to journald, apart from the sinks: they are neither counted
    /// among the clients' records nor kept in the journald sink's backlog (with journald away they
    /// are lost; stderr has each of them too).
    private let healthSink = JournaldSink(attributeObjectPID: false, backlogCapacity: 0)

    private let load: (@Sendable () throws(ConfigurationError) -> DaemonConfiguration)?

    init(
        collector: Collector, configuration: DaemonConfiguration, source: String,
        load: (@Sendable () throws(ConfigurationError) -> DaemonConfiguration)?
    ) {
        self.load = load
        self.collector = collector
        self.configuration = configuration
        self.source = source
    }

    var interval: Int { configuration.metricsInterval }

    /// The counters with the reload counts.
    private var snapshot: CollectorSnapshot {
        var snapshot = collector.snapshot
        (snapshot.reloads, snapshot.reloadFailures) = reloads.withLock { $0 }
        return snapshot
    }

    /// Serves the control channel on the socket systemd passed (`activated`), else on
    /// `<socket>.control`, made with the main socket's mode and group. A failure is reported and
    /// the daemon runs on without it.
    func startControl(activated: Int32?) {
        let group = configuration.socketGroup.flatMap(DaemonConfiguration.groupID)
        do {
            control = try ControlServer(
                path: configuration.socketPath + ControlServer.suffix, mode: configuration.socketMode, group: group,
                listeningDescriptor: activated
            ) {
                [collector, reloads] request in
                var snapshot = collector.snapshot
                (snapshot.reloads, snapshot.reloadFailures) = reloads.withLock { $0 }
                switch request {
                case "json": return snapshot.json
                case "prometheus": return snapshot.prometheus
                case "table": return snapshot.table
                default: return nil
                }
            }
        } catch {
            StandardError.write(
                "journal-bridge: no control channel (journal-bridge status will not answer): \(error)\n")
        }
    }

    func stopControl() { control?.stop() }

    /// One health record (`HealthEvent`: a fixed `MESSAGE_ID`) straight to journald.
    func announce(_ event: HealthEvent, _ level: Logger.Level, _ message: String) {
        // With journald's socket gone the journald sink has said so already: no second report.
        guard JournaldSink.isAvailable else { return }
        healthSink.write([
            LogRecord(
                level: level, label: "journal-bridge.collector", message: message,
                metadata: [MetadataField(HealthEvent.messageIDKey, event.id)],
                origin: Origin(pid: getpid(), uid: getuid(), gid: getgid(), identifier: "journal-bridge")
            )
        ])
    }

    /// Every `metrics_interval` seconds: STATUS= and the textfile.
    func tick(notify: Bool = true) {
        let snapshot = self.snapshot
        if notify { Systemd.notify("STATUS=\(snapshot.summary)") }
        if let path = configuration.metricsTextfile { Self.writeAtomically(snapshot.prometheus, to: path) }
    }

    /// Writes `text` to a temporary file beside `path` and renames it over `path`, so that
    /// node_exporter never reads half a file. Failures go to stderr (once per failure).
    ///
    /// The temporary file is always a new one of ours (`O_EXCL`): whatever was at its name is
    /// removed first, and if something is there again at the open, the write fails and is
    /// said. Opened as it was found, a FIFO there hung the daemon's signal thread in `open`, a
    /// hard link to another file had that file truncated and overwritten, another user's file
    /// was written and renamed into place as theirs.
    static func writeAtomically(_ text: String, to path: String) {
        let temporary = path + ".tmp"
        do {
            // ENOENT is the usual answer; any other failure shows at the open below.
            _ = unlink(temporary)
            let fd = try syscall("open \(temporary)") {
                open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o644)
            }
            do {
                try writeAll(fd, Array(text.utf8))
            } catch {
                close(fd)  // the write's error is the one to say
                throw SystemError(call: "write \(temporary)", errno: error.errno)
            }
            try syscall("close \(temporary)") { close(fd) }
            try syscall("rename \(temporary)") { rename(temporary, path) }
        } catch {
            StandardError.write("journal-bridge: cannot write the metrics textfile: \(error)\n")
        }
    }

    /// The four thresholds by key, old and new.
    private static func levelKeys(_ old: SinkConfiguration, _ new: SinkConfiguration) -> [(
        String, Logger.Level?, Logger.Level?
    )] {
        [
            ("error_file_level", old.errorFileLevel, new.errorFileLevel),
            ("debug_file_level", old.debugFileLevel, new.debugFileLevel),
            ("console_level", old.consoleLevel, new.consoleLevel),
            ("journald_level", old.journaldLevel, new.journaldLevel),
        ]
    }

    /// Applies what can change in the running sinks: thresholds of sinks that stay on, the file
    /// rotation and format, the console format, journald's queue policy. Records `live` as it is
    /// now and returns the keys applied.
    private func applySinks(_ new: DaemonConfiguration, to live: inout DaemonConfiguration) -> [String] {
        var applied: [String] = []
        let names = [
            "error_file_level": "error-file", "debug_file_level": "debug-file", "console_level": "console",
            "journald_level": "journald",
        ]
        for (key, old, now) in Self.levelKeys(live.sinks, new.sinks) {
            guard let old, let now, old != now, let name = names[key] else { continue }
            collector.router.setMinimumLevel(now, forSinkNamed: name)
            applied.append(key)
        }
        live.sinks.errorFileLevel = live.sinks.errorFileLevel.flatMap { _ in
            new.sinks.errorFileLevel ?? live.sinks.errorFileLevel
        }
        live.sinks.debugFileLevel = live.sinks.debugFileLevel.flatMap { _ in
            new.sinks.debugFileLevel ?? live.sinks.debugFileLevel
        }
        live.sinks.consoleLevel = live.sinks.consoleLevel.flatMap { _ in
            new.sinks.consoleLevel ?? live.sinks.consoleLevel
        }
        live.sinks.journaldLevel = live.sinks.journaldLevel.flatMap { _ in
            new.sinks.journaldLevel ?? live.sinks.journaldLevel
        }
        let sinks = collector.router.routes.map(\.sink)
        if new.sinks.maxBytes != live.sinks.maxBytes || new.sinks.backupCount != live.sinks.backupCount
            || new.sinks.fileFormat != live.sinks.fileFormat
        {
            for case let file as RotatingFileSink in sinks {
                var options = file.options
                options.maxBytes = new.sinks.maxBytes
                options.backupCount = new.sinks.backupCount
                options.format = new.sinks.fileFormat
                file.apply(options)
            }
            if new.sinks.maxBytes != live.sinks.maxBytes { applied.append("max_bytes") }
            if new.sinks.backupCount != live.sinks.backupCount { applied.append("backup_count") }
            if new.sinks.fileFormat != live.sinks.fileFormat { applied.append("file_format") }
            (live.sinks.maxBytes, live.sinks.backupCount, live.sinks.fileFormat) = (
                new.sinks.maxBytes, new.sinks.backupCount, new.sinks.fileFormat
            )
        }
        if new.sinks.consoleFormat != live.sinks.consoleFormat {
            for case let console as ConsoleSink in sinks { console.setFormat(new.sinks.consoleFormat) }
            live.sinks.consoleFormat = new.sinks.consoleFormat
            applied.append("console_format")
        }
        if new.sinks.forwardLevel != live.sinks.forwardLevel && !live.sinks.forward.isEmpty {
            for route in collector.router.routes where route.sink is ForwardSink {
                collector.router.setMinimumLevel(new.sinks.forwardLevel, forSinkNamed: route.sink.name)
            }
            live.sinks.forwardLevel = new.sinks.forwardLevel
            applied.append("forward_level")
        }
        if new.sinks.journaldOverflow != live.sinks.journaldOverflow {
            collector.router.setOverflow(new.sinks.journaldOverflow, forSinkNamed: "journald")
            live.sinks.journaldOverflow = new.sinks.journaldOverflow
            applied.append("journald_overflow")
        }
        return applied
    }

    /// SIGHUP: re-reads the configuration file. A valid one applies what can change live
    /// (thresholds of sinks that stay on, file rotation and format, console format, journald's
    /// queue policy, the rate limit, the metrics textfile and interval) without touching a
    /// connection or a queued record, and names the changed keys that need a restart; an invalid
    /// one leaves everything as it was and is reported (file:line: key: problem) and counted.
    func reload() {
        guard load != nil || source != "defaults" else { return }
        let new: DaemonConfiguration
        do throws(ConfigurationError) {
            if let load { new = try load() } else { new = try DaemonConfiguration.load(path: source) }
        } catch {
            reloads.withLock { $0.failed += 1 }
            StandardError.write("journal-bridge: reload refused, the configuration in use stays: \(error)\n")
            announce(.reloadFailed, .error, "configuration reload refused, the configuration in use stays: \(error)")
            return
        }
        var applied: [String] = []
        if new.rateLimit != configuration.rateLimit {
            collector.rateLimiter.limit = new.rateLimit
            applied.append("rate_limit")
        }
        if new.metricsTextfile != configuration.metricsTextfile { applied.append("metrics_textfile") }
        if new.metricsInterval != configuration.metricsInterval { applied.append("metrics_interval") }
        var live = configuration
        applied += applySinks(new, to: &live)
        live.rateLimit = new.rateLimit
        live.metricsTextfile = new.metricsTextfile
        live.metricsInterval = new.metricsInterval
        live.lines = new.lines
        var restart: [String] = []
        if new.socketPath != live.socketPath || new.socketMode != live.socketMode || new.socketGroup != live.socketGroup
        {
            restart.append("socket")
        }
        if new.sinks.base != live.sinks.base { restart.append("base") }
        for (key, old, now) in Self.levelKeys(live.sinks, new.sinks) where (old == nil) != (now == nil) {
            restart.append(key + (now == nil ? " (turning the sink off)" : " (turning the sink on)"))
        }
        if new.sinks.journaldBacklog != live.sinks.journaldBacklog { restart.append("journald_backlog") }
        if new.sinks.forward != live.sinks.forward || new.sinks.forwardOptions != live.sinks.forwardOptions {
            restart.append("forward*")
        }
        if new.sinkQueueCapacity != live.sinkQueueCapacity { restart.append("sink_queue_capacity") }
        if new.maxConnections != live.maxConnections || new.memoryLimit != live.memoryLimit
            || new.defaultIdentifier != live.defaultIdentifier
        {
            restart.append("limits")
        }
        configuration = live
        reloads.withLock { $0.applied += 1 }
        // logrotate's postrotate reloads at every rotation: an unchanged file says nothing more.
        guard !applied.isEmpty || !restart.isEmpty else { return }
        let message =
            "configuration reloaded from \(source): applied "
            + (applied.isEmpty ? "nothing new" : applied.joined(separator: ", "))
            + (restart.isEmpty ? "" : "; changed but needing a restart: " + restart.joined(separator: ", "))
        StandardError.write("journal-bridge: \(message)\n")
        announce(.reloaded, .notice, message)
    }
}
