#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// What the daemon does besides collecting: the control channel (`journal-bridge status`),
/// the Prometheus textfile and `STATUS=`, and reloading the configuration on SIGHUP.
/// Used from the daemon's signal thread only (the control thread reads the collector itself).
final class DaemonOperations {
    let collector: Collector
    private(set) var configuration: DaemonConfiguration
    let source: String
    private var control: ControlServer?
    private let reloads = ConditionLock((applied: 0, failed: 0))

    init(collector: Collector, configuration: DaemonConfiguration, source: String) {
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

    /// Opens `<socket>.control` (beside the socket's path, also under socket activation) with the
    /// main socket's mode and group. A failure is reported and the daemon runs on without it.
    func startControl() {
        let group = configuration.socketGroup.flatMap(DaemonConfiguration.groupID)
        do {
            control = try ControlServer(path: configuration.socketPath + ControlServer.suffix, mode: configuration.socketMode, group: group) {
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
            StandardError.write("journal-bridge: no control channel (journal-bridge status will not answer): \(error)\n")
        }
    }

    func stopControl() { control?.stop() }

    /// Every `metrics_interval` seconds: STATUS= and the textfile.
    func tick(notify: Bool = true) {
        let snapshot = self.snapshot
        if notify { Systemd.notify("STATUS=\(snapshot.summary)") }
        if let path = configuration.metricsTextfile { Self.writeAtomically(snapshot.prometheus, to: path) }
    }

    /// Writes `text` to a temporary file beside `path` and renames it over `path`, so that
    /// node_exporter never reads half a file. Failures go to stderr (once per failure).
    static func writeAtomically(_ text: String, to path: String) {
        let temporary = path + ".tmp"
        do {
            let fd = try syscall("open \(temporary)") { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644) }
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let n = try syscall("write \(temporary)") { bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
                bytes = bytes.dropFirst(n)
            }
            try syscall("close \(temporary)") { close(fd) }
            try syscall("rename \(temporary)") { rename(temporary, path) }
        } catch {
            StandardError.write("journal-bridge: cannot write the metrics textfile: \(error)\n")
        }
    }

    /// SIGHUP: re-reads the configuration file. A valid one applies what can change live (the
    /// rate limit, the metrics textfile and interval) and names the changed keys that need a
    /// restart; an invalid one leaves everything as it was and is reported and counted.
    func reload() {
        guard source != "defaults" else { return }
        let new: DaemonConfiguration
        do {
            new = try DaemonConfiguration.load(path: source)
        } catch {
            reloads.withLock { $0.failed += 1 }
            StandardError.write("journal-bridge: reload refused, the configuration in use stays: \(error)\n")
            collector.announce(.reloadFailed, .error, "configuration reload refused, the configuration in use stays: \(error)")
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
        live.rateLimit = new.rateLimit
        live.metricsTextfile = new.metricsTextfile
        live.metricsInterval = new.metricsInterval
        live.lines = new.lines
        var restart: [String] = []
        if new.socketPath != live.socketPath || new.socketMode != live.socketMode || new.socketGroup != live.socketGroup { restart.append("socket") }
        if new.sinks != live.sinks { restart.append("sinks (levels, formats, rotation, base)") }
        if new.sinkQueueCapacity != live.sinkQueueCapacity || new.journaldOverflow != live.journaldOverflow { restart.append("sink queues") }
        if new.maxConnections != live.maxConnections || new.memoryLimit != live.memoryLimit || new.defaultIdentifier != live.defaultIdentifier {
            restart.append("limits")
        }
        configuration = live
        reloads.withLock { $0.applied += 1 }
        let message = "configuration reloaded from \(source): applied " + (applied.isEmpty ? "nothing new" : applied.joined(separator: ", "))
            + (restart.isEmpty ? "" : "; changed but needing a restart: " + restart.joined(separator: ", "))
        StandardError.write("journal-bridge: \(message)\n")
        collector.announce(.reloaded, .notice, message)
    }
}
