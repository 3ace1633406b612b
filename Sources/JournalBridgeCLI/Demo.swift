import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import JournalBridgeCollector
import JournalBridgeDaemon
import JournalBridgeProcess
import Logging

extension JournalBridgeCommand {
    /// The Python pattern's demo program in Swift: an embedded collector, worker processes
    /// and the main process logging at random levels with random pauses.
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a demo: an embedded collector, N worker processes and the main process logging to it.",
            discussion: """
                Each process logs --messages records at random levels (DEBUG to CRITICAL) with random pauses. \
                The records go to journald (journalctl -t IDENTIFIER) and, by default, to ./demo_error.log \
                and ./demo_debug.log, rolled over at 300 bytes with 10 older files kept, so that rotation shows. \
                Prints how many records each level and each sink got.
                """
        )

        @Option(help: "Worker processes.")
        var workers = 10

        @Option(help: "Messages each process logs.")
        var messages = 10

        @Option(help: "Longest pause between two messages, seconds.")
        var maxSleep = 1.0

        @Option(help: "SYSLOG_IDENTIFIER of every record (journalctl -t).")
        var identifier = "journal-bridge-demo"

        @Option(help: "The collector's socket (default: a fresh path under /tmp).")
        var socket: String?

        @OptionGroup var sinks: SinkOptions

        func validate() throws {
            guard workers >= 0, workers <= 1000 else {
                throw ValidationError("--workers must be 0...1000, not \(workers)")
            }
            guard messages >= 0 else { throw ValidationError("--messages must be 0 or more, not \(messages)") }
            guard maxSleep >= 0 else { throw ValidationError("--max-sleep must be 0 or more, not \(maxSleep)") }
        }

        func run() throws {
            let sinkConfiguration = sinks.configuration(
                defaults: SinkConfiguration(base: "./demo", maxBytes: 300, backupCount: 10))
            let socketPath = socket ?? "/tmp/journal-bridge-demo-\(getpid()).sock"
            let collector = Collector(
                configuration: CollectorConfiguration(socketPath: socketPath),
                routes: try openSinks(sinkConfiguration)
            )
            try collector.start()

            var children: [pid_t] = []
            let executable = ChildProcess.currentExecutable
            for worker in 1...max(1, workers) where workers > 0 {
                children.append(
                    try ChildProcess.spawn(
                        executable,
                        [
                            "demo-worker", "--socket", socketPath, "--worker", String(worker), "--messages",
                            String(messages),
                            "--max-sleep", String(maxSleep), "--identifier", identifier,
                        ])
                )
            }
            // The main process logs too, as in the Python pattern's demo.
            DemoWorker.logMessages(
                name: "main", socket: socketPath, identifier: identifier, messages: messages, maxSleep: maxSleep
            )
            var failedWorkers = 0
            for child in children where ChildProcess.wait(child) != 0 {
                failedWorkers += 1
            }
            collector.stop()
            print(summary(collector.statistics, sinkConfiguration, processes: children.count + 1))
            if failedWorkers > 0 {
                throw RuntimeFailure("\(failedWorkers) worker processes failed")
            }
        }

        private func summary(_ statistics: Router.Statistics, _ sinks: SinkConfiguration, processes: Int) -> String {
            let levels: [Logger.Level] = [.trace, .debug, .info, .notice, .warning, .error, .critical]
            let perLevel = levels.compactMap { level in
                statistics.perLevel[level].flatMap { $0 > 0 ? "\(level.displayName) \($0)" : nil }
            }
            let perSink = statistics.perSink.map { sink in
                "\(sink.name) \(sink.routed) (\(sink.minimumLevel.displayName)+)"
                    + (sink.failed > 0 ? ", \(sink.failed) failed" : "")
            }
            var lines = [
                "journal-bridge demo: \(statistics.total) records from \(processes) processes",
                "  per level: " + perLevel.joined(separator: ", "),
                "  per sink:  " + perSink.joined(separator: ", "),
            ]
            if sinks.errorFileLevel != nil || sinks.debugFileLevel != nil {
                lines.append(
                    "  files:     \(sinks.errorFilePath), \(sinks.debugFilePath) (and their .1 ... .\(sinks.backupCount))"
                )
            }
            if sinks.journaldLevel != nil {
                lines.append("  journald:  journalctl -t \(identifier)    (JSON: journalctl -t \(identifier) -o json)")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// One of the demo's worker processes (started by `demo`, not by hand).
    struct DemoWorker: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "demo-worker", shouldDisplay: false)

        @Option var socket: String
        @Option var worker: Int
        @Option var messages: Int
        @Option var maxSleep: Double
        @Option var identifier: String

        func run() throws {
            Self.logMessages(
                name: "worker-\(worker)", socket: socket, identifier: identifier, messages: messages, maxSleep: maxSleep
            )
        }

        static func logMessages(name: String, socket: String, identifier: String, messages: Int, maxSleep: Double) {
            let shipper = RecordShipper(
                configuration: ShipperConfiguration(socketPath: socket, identifier: identifier, overflow: .block)
            )
            var logger = Logger(label: "demo.\(name)") { BridgeLogHandler(label: $0, shipper: shipper) }
            logger.logLevel = .debug
            let levels: [Logger.Level] = [.debug, .info, .warning, .error, .critical]
            for index in 1...max(1, messages) where messages > 0 {
                if maxSleep > 0 { usleep(useconds_t(Double.random(in: 0..<maxSleep) * 1e6)) }
                let level = levels.randomElement()!
                logger.log(
                    level: level, "\(name) message \(index)", metadata: ["worker": "\(name)", "index": "\(index)"])
            }
            shipper.shutdown(timeout: 60)
        }
    }
}

/// Opens the sinks of a configuration; a failure is one at run time (exit 1, one line naming the file).
func openSinks(_ configuration: SinkConfiguration) throws(RuntimeFailure) -> [SinkRoute] {
    do {
        return try configuration.makeRoutes()
    } catch {
        throw RuntimeFailure("cannot open the log files: \(error)")
    }
}
