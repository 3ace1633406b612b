import ArgumentParser
import JournalBridge
import JournalBridgeBenchmarks
import JournalBridgeCollector
import JournalBridgeDaemon
import JournalBridgeProcess
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The figures of one run.
struct BenchRun {
    var records: Int
    var missingFiles: Int?
    var missingJournald: Int?
    var seconds: Double
    var ceilingPerSecond: Double?
    var shapedCeilingPerSecond: Double?
    var pacedRate: Double
    var paced: Percentiles
    var saturated: Percentiles
    var peakRSS: Int
    /// Per `--forward` URL: records per second until the receiver had them all.
    var forwardPerSecond: [Double] = []
    var recordsPerSecond: Double { Double(records) / seconds }
}

struct Percentiles {
    var p50: Double
    var p99: Double
    var p999: Double

    /// Microseconds from nanosecond samples.
    init(_ samples: [UInt32]) {
        let sorted = samples.sorted()
        func at(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]) / 1000
        }
        p50 = at(0.5)
        p99 = at(0.99)
        p999 = at(0.999)
    }
}

struct BenchRunner {
    let options: JournalBridgeCommand.Bench
    let run: Int

    private var useJournald: Bool { options.sinkList.contains("journald") }
    private var useFiles: Bool { options.sinkList.contains("files") }
    private var useConsole: Bool { options.sinkList.contains("console") }

    private func progress(_ text: String) {
        StandardError.write("bench: run \(run)/\(options.runs): \(text)\n")
    }

    func execute() throws -> BenchRun {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }

        var ceiling: Double?
        var shapedCeiling: Double?
        if useJournald {
            progress("journald ceiling, \(options.ceilingRecords) records")
            let result = try JournaldCeiling.measure(
                records: options.ceilingRecords, identifier: options.identifier + "-ceiling")
            ceiling = result.perSecond
            progress(
                "journald ceiling: \(Int(result.perSecond)) records/s (sent in \(format(result.sendSeconds)) s, stored in \(format(result.storedSeconds)) s)"
            )
            let shaped = try JournaldCeiling.measureBridgeShaped(
                records: options.ceilingRecords, identifier: options.identifier + "-ceiling-shaped",
                recordSize: options.recordSize, metadata: options.metadata
            )
            shapedCeiling = shaped.perSecond
            progress("journald ceiling with the bridge's entries: \(Int(shaped.perSecond)) records/s")
        }

        // End to end, as fast as the workers can log.
        let total = options.workers * options.records
        let counter = useJournald ? try JournalCounter(identifier: options.identifier) : nil
        ProcessMemory.resetPeak()
        let (collector, socket) = try startCollector(directory: directory, base: "e2e")
        let start = MonotonicClock.now()
        let saturated = try runWorkers(
            socket: socket, directory: directory, phase: "e2e", records: options.records, rate: 0,
            identifier: options.identifier
        ) {
            progress("\(collector.statistics.total)/\(total) records routed")
        }
        collector.stop()
        var end = MonotonicClock.now()
        let peak = ProcessMemory.peakResidentBytes
        var missingJournald: Int?
        if let counter {
            let (stored, at) = counter.wait(for: total, quiet: 15) { count in
                progress("\(count)/\(total) records in journald")
            }
            missingJournald = total - stored
            end = max(end, at)
        }
        let seconds = Double(end - start) / 1e9
        let missingFiles = useFiles ? total - countLines(directory: directory, prefix: "e2e_debug.log") : nil
        let rate = Double(total) / seconds
        progress("\(total) records end to end in \(format(seconds)) s: \(Int(rate)) records/s")

        var forwardRates: [Double] = []
        for url in options.forward {
            forwardRates.append(try forwardPhase(url: url, directory: directory, total: total))
        }

        // Paced: half that rate, so the queue is busy but never full.
        let pacedRate = options.pacedRate ?? rate / 2
        var paced: [UInt32] = []
        if options.pacedRecords > 0 {
            let (pacedCollector, pacedSocket) = try startCollector(directory: directory, base: "paced")
            progress("paced phase at \(Int(pacedRate)) records/s")
            paced = try runWorkers(
                socket: pacedSocket, directory: directory, phase: "paced", records: options.pacedRecords,
                rate: pacedRate / Double(options.workers), identifier: options.identifier + "-paced"
            ) {}
            pacedCollector.stop()
        }
        return BenchRun(
            records: total, missingFiles: missingFiles, missingJournald: missingJournald, seconds: seconds,
            ceilingPerSecond: ceiling, shapedCeilingPerSecond: shapedCeiling, pacedRate: pacedRate,
            paced: Percentiles(paced), saturated: Percentiles(saturated),
            peakRSS: peak, forwardPerSecond: forwardRates
        )
    }

    /// A collector with the forward sink alone: the time from the workers' start until the
    /// receiver has every record (RELP: acknowledged; TCP, TLS: written to the socket).
    private func forwardPhase(url: String, directory: String, total: Int) throws -> Double {
        var sinks = SinkConfiguration(
            base: "\(directory)/forward", errorFileLevel: nil, debugFileLevel: nil, consoleLevel: nil,
            journaldLevel: nil)
        do { sinks.forward = [try ForwardDestination(parsing: url)] } catch {
            throw RuntimeFailure("--forward \(error)")
        }
        sinks.forwardLevel = .trace
        // Room for the whole phase: a record dropped from a full buffer would never be forwarded.
        sinks.forwardOptions.bufferRecords = max(sinks.forwardOptions.bufferRecords, total)
        sinks.forwardOptions.bufferBytes = max(sinks.forwardOptions.bufferBytes, total * (options.recordSize + 1024))
        let routes = try openSinks(sinks)
        guard let sink = routes.first?.sink as? ForwardSink else { throw RuntimeFailure("no forward sink") }
        let socket = "\(directory)/forward.sock"
        let collector = Collector(configuration: CollectorConfiguration(socketPath: socket), routes: routes)
        try collector.start()
        progress("forward to \(url)")
        let start = MonotonicClock.now()
        _ = try runWorkers(
            socket: socket, directory: directory, phase: "forward", records: options.records, rate: 0,
            identifier: options.identifier + "-forward"
        ) {
            progress("\(sink.forwardedCount)/\(total) records forwarded")
        }
        let deadline = MonotonicClock.deadline(after: 120)
        while sink.forwardedCount + sink.failedCount < total && MonotonicClock.now() < deadline { usleep(5_000) }
        let end = MonotonicClock.now()
        let forwarded = sink.forwardedCount
        collector.stop()
        guard forwarded >= total else {
            throw RuntimeFailure(
                "forward to \(url): \(forwarded) of \(total) records forwarded in 120 s (\(sink.lastFailure ?? "no error"))"
            )
        }
        let rate = Double(total) / (Double(end - start) / 1e9)
        progress("forward to \(url): \(Int(rate)) records/s")
        return rate
    }

    private func startCollector(directory: String, base: String) throws -> (Collector, String) {
        var sinks = SinkConfiguration(
            base: "\(directory)/\(base)", consoleLevel: useConsole ? .info : nil,
            journaldLevel: useJournald ? .debug : nil,
            maxBytes: 64 * 1024 * 1024, backupCount: 1000
        )
        if !useFiles {
            sinks.errorFileLevel = nil
            sinks.debugFileLevel = nil
        }
        // The console goes to /dev/null, as the Python peer's does: a terminal would be the benchmark.
        sinks.consoleDescriptor = open("/dev/null", O_WRONLY | O_CLOEXEC)
        let socket = "\(directory)/\(base).sock"
        let collector = Collector(
            configuration: CollectorConfiguration(socketPath: socket), routes: try openSinks(sinks))
        try collector.start()
        return (collector, socket)
    }

    /// Starts the workers, waits for them, returns every per-call duration (ns).
    private func runWorkers(
        socket: String, directory: String, phase: String, records: Int, rate: Double, identifier: String,
        tick: () -> Void
    ) throws -> [UInt32] {
        let executable = ChildProcess.currentExecutable
        var pids: [pid_t] = []
        for index in 0..<options.workers {
            pids.append(
                try ChildProcess.spawn(
                    executable,
                    [
                        "bench-worker", "--socket", socket, "--index", "\(index)", "--records", "\(records)",
                        "--record-size", "\(options.recordSize)", "--metadata", "\(options.metadata)", "--identifier",
                        identifier,
                        "--rate", "\(rate)", "--latency-file", "\(directory)/\(phase)-\(index).lat",
                    ])
            )
        }
        var lastTick = MonotonicClock.now()
        var remaining = Set(pids)
        while !remaining.isEmpty {
            for pid in remaining {
                var status: Int32 = 0
                let done = waitpid(pid, &status, WNOHANG)
                if done == pid {
                    remaining.remove(pid)
                    if status != 0 { throw RuntimeFailure("bench worker \(pid) failed (status \(status))") }
                }
            }
            usleep(10_000)
            if MonotonicClock.now() - lastTick > 1_000_000_000 {
                lastTick = MonotonicClock.now()
                tick()
            }
        }
        var samples: [UInt32] = []
        for index in 0..<options.workers {
            samples += readSamples("\(directory)/\(phase)-\(index).lat")
        }
        return samples
    }

    private func readSamples(_ path: String) -> [UInt32] {
        let bytes = readAll(path)
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
    }

    /// Lines in a file and its rotated copies.
    private func countLines(directory: String, prefix: String) -> Int {
        var count = 0
        for name in listDirectory(directory) where name == prefix || name.hasPrefix(prefix + ".") {
            count += readAll("\(directory)/\(name)").reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
        }
        return count
    }
}

func format(_ value: Double, digits: Int = 2) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return "\(rounded)"
}

// MARK: small file-system helpers (the CLI does not link Foundation)

func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/journal-bridge-bench-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw RuntimeFailure("cannot create a temporary directory") }
    return String(cString: made)
}

func listDirectory(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) {
            String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// The bytes of a file the bench wrote; [] when it cannot be read (the counts then say so).
func readAll(_ path: String) -> [UInt8] {
    (try? readFile(path, limit: 1 << 40)) ?? []
}

func removeTree(_ path: String) {
    for name in listDirectory(path) { unlink("\(path)/\(name)") }
    rmdir(path)
}
