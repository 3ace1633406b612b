import JournalBridge
import JournalBridgeBenchmarks
import JournalBridgeCollector
import JournalBridgeDaemon
import JournalBridgeProcess
#if canImport(Glibc)
import Glibc
#endif

/// `bench --syslog unix|tcp`: an embedded collector with one syslog input (a Unix datagram
/// socket, or TCP on 127.0.0.1), fed by `--syslog-sender` (scripts/peers/syslog-flood.c, the
/// same sender scripts/bench-report runs against rsyslog): N sender processes of M messages
/// each, timed from their start until the files (and journald, if a sink) hold every message.
struct SyslogBench {
    let options: JournalBridgeCommand.Bench
    let run: Int

    struct Result {
        var records: Int
        var seconds: Double
        var missingFiles: Int?
        var missingJournald: Int?
        var kernelDrops: Int
        /// journald's ceiling in the same run (a plain sd_journal_sendv loop), when journald is a sink.
        var ceilingPerSecond: Double?
        /// The same with the entries the input makes of these messages (`JournaldCeiling.measureSyslogShaped`).
        var shapedCeilingPerSecond: Double?
        /// Over a Unix datagram socket: journald's own syslog socket fed by the same senders
        /// (`journaldSyslogSocket`), the ceiling of this input with its transport's cost in it.
        var devLogPerSecond: Double?
        var recordsPerSecond: Double { Double(records) / seconds }
    }

    private var useJournald: Bool { options.sinkList.contains("journald") }
    private var useFiles: Bool { options.sinkList.contains("files") }

    private func progress(_ text: String) {
        StandardError.write("bench: syslog run \(run)/\(options.runs): \(text)\n")
    }

    func execute(mode: String, sender: String) throws -> Result {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        var ceiling: Double?
        var shapedCeiling: Double?
        if useJournald {
            ceiling = try JournaldCeiling.measure(
                records: options.ceilingRecords, identifier: options.identifier + "-ceiling"
            ).perSecond
            shapedCeiling = try JournaldCeiling.measureSyslogShaped(
                records: options.ceilingRecords, identifier: options.identifier + "-ceiling-shaped",
                recordSize: options.recordSize
            ).perSecond
            progress(
                "journald ceiling: \(Int(ceiling ?? 0)) records/s, with syslog-shaped entries \(Int(shapedCeiling ?? 0)) records/s"
            )
        }
        let devLog = useJournald && mode == "unix" ? try journaldSyslogSocket(sender: sender) : nil
        var sinks = SinkConfiguration(
            base: "\(directory)/syslog", consoleLevel: nil, journaldLevel: useJournald ? .debug : nil, maxBytes: 0,
            backupCount: 0
        )
        if !useFiles {
            sinks.errorFileLevel = nil
            sinks.debugFileLevel = nil
        }
        let endpoint: SyslogEndpoint =
            mode == "tcp" ? .tcp(host: "127.0.0.1", port: "0") : .unixDatagram(path: "\(directory)/syslog.sock")
        var configuration = CollectorConfiguration(socketPath: "\(directory)/bridge.sock")
        configuration.syslogInputs = [SyslogInputSettings(endpoint: endpoint, maximumMessageBytes: 64 * 1024)]
        let collector = Collector(configuration: configuration, routes: try openSinks(sinks))
        try collector.start()
        let input = collector.syslogInputs[0]
        let target = mode == "tcp" ? ((input as? SyslogSocketInput)?.localAddress ?? "") : "\(directory)/syslog.sock"
        let total = options.workers * options.records
        let counter = useJournald ? try JournalCounter(identifier: options.identifier) : nil

        let start = MonotonicClock.now()
        try runSenders(sender, mode: mode, target: target, identifier: options.identifier)
        // Datagrams have no acks: wait until the collector has routed every message, or nothing moved for 10 s.
        var last = collector.statistics.total
        var lastMove = MonotonicClock.now()
        while last < total && MonotonicClock.now() - lastMove < 10_000_000_000 {
            usleep(10_000)
            let now = collector.statistics.total
            if now != last {
                last = now
                lastMove = MonotonicClock.now()
            }
        }
        collector.stop()
        var end = MonotonicClock.now()
        var missingJournald: Int?
        if let counter {
            let (stored, at) = counter.wait(for: total, quiet: 15) { count in
                progress("\(count)/\(total) records in journald")
            }
            missingJournald = total - stored
            end = max(end, at)
        }
        let missingFiles = useFiles ? total - countLines("\(directory)/syslog_debug.log") : nil
        let seconds = Double(end - start) / 1e9
        progress("\(total) messages over \(mode) in \(format(seconds)) s: \(Int(Double(total) / seconds)) records/s")
        return Result(
            records: total, seconds: seconds, missingFiles: missingFiles, missingJournald: missingJournald,
            kernelDrops: input.counters.kernelDrops.load(ordering: .relaxed), ceilingPerSecond: ceiling,
            shapedCeilingPerSecond: shapedCeiling, devLogPerSecond: devLog
        )
    }

    /// journald's own syslog socket (`/dev/log`'s target) taking the same messages from the
    /// same senders: what journald stores per second when the datagrams go to it directly.
    /// glibc's form (no hostname: journald finds the tag only there), under `<ID>-devlog`.
    private func journaldSyslogSocket(sender: String) throws -> Double? {
        let socket = "/run/systemd/journal/dev-log"
        guard access(socket, W_OK) == 0 else { return nil }
        let identifier = options.identifier + "-devlog"
        let total = options.workers * options.records
        let counter = try JournalCounter(identifier: identifier)
        let start = MonotonicClock.now()
        try runSenders(sender, mode: "local", target: socket, identifier: identifier)
        let (stored, at) = counter.wait(for: total, quiet: 15) { _ in }
        guard stored >= total else {
            progress("journald's syslog socket: \(stored) of \(total) stored (journald's own rate limit?)")
            return nil
        }
        let rate = Double(total) / (Double(at - start) / 1e9)
        progress("journald's own syslog socket, the same senders: \(Int(rate)) records/s")
        return rate
    }

    /// The senders (`--syslog-sender`: N processes of M messages over `mode` to `target`), waited for.
    private func runSenders(_ sender: String, mode: String, target: String, identifier: String) throws {
        let pid = try ChildProcess.spawn(
            sender,
            [mode, target, "\(options.workers)", "\(options.records)", "\(options.recordSize)", identifier])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status != 0 { throw RuntimeFailure("syslog sender failed (status \(status))") }
    }

    private func countLines(_ path: String) -> Int { readAll(path).reduce(0) { $0 + ($1 == 10 ? 1 : 0) } }

    /// Medians over the runs, as the table's lines.
    static func table(_ options: JournalBridgeCommand.Bench, mode: String, _ results: [Result]) -> String {
        let median = BenchSummary.median(results.map(\.recordsPerSecond))
        func row(_ name: String, _ value: String) -> String { name.padding(to: 44) + value }
        var ceiling: [String] = []
        for (name, values) in [
            ("journald ceiling, same run", results.compactMap(\.ceilingPerSecond)),
            ("journald ceiling, syslog-shaped entries", results.compactMap(\.shapedCeilingPerSecond)),
            ("journald's own syslog socket, same senders", results.compactMap(\.devLogPerSecond)),
        ] where !values.isEmpty {
            ceiling.append(
                row(
                    name,
                    "\(Int(BenchSummary.median(values))) records/s  (runs: \(values.map { String(Int($0)) }.joined(separator: ", ")))"
                ))
        }
        // Each run against the ceilings measured just before it: the machine's load moves them alike.
        // The syslog-shaped one is journald's rate for the very entries this input sends (the
        // bridge leg's "ratio to that ceiling"); the plain probe's entries are lighter.
        for (name, peer) in [
            ("end to end / journald's syslog socket", \Result.devLogPerSecond),
            ("end to end / ceiling, per run", \Result.ceilingPerSecond),
            ("end to end / syslog-shaped ceiling, per run", \Result.shapedCeilingPerSecond),
        ] {
            let ratios = results.compactMap { result in result[keyPath: peer].map { result.recordsPerSecond / $0 } }
            guard !ratios.isEmpty else { continue }
            ceiling.append(
                row(
                    name,
                    "\(format(BenchSummary.median(ratios)))x median  (runs: \(ratios.map { format($0) }.joined(separator: ", ")))"
                ))
        }
        if mode == "unix" {
            // systemd (PID 1) makes it 512 at boot; the kernel's 10 makes every datagram hop a handoff per few messages.
            ceiling.append(row("net.unix.max_dgram_qlen", JournaldSink.datagramQueueLength().map(String.init) ?? "?"))
        }
        return
            ([
                "journal-bridge bench --syslog \(mode): \(options.workers) senders x \(options.records) messages (\(options.recordSize) B), sinks \(options.sinks); medians of \(results.count) run\(results.count == 1 ? "" : "s")",
                row("records", "\(results.first?.records ?? 0)"),
                row(
                    "missing (files / journald)",
                    "\(results.map { $0.missingFiles.map(String.init) ?? "-" }.joined(separator: ",")) / \(results.map { $0.missingJournald.map(String.init) ?? "-" }.joined(separator: ","))"
                ),
                row("dropped by the kernel (counted)", results.map { String($0.kernelDrops) }.joined(separator: ",")),
                row(
                    "end to end",
                    "\(Int(median)) records/s  (runs: \(results.map { String(Int($0.recordsPerSecond)) }.joined(separator: ", ")))"
                ),
            ] + ceiling).joined(separator: "\n")
    }
}
