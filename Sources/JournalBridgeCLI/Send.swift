import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import JournalBridgeCollector
import Logging

extension JournalBridgeCommand {
    /// The command-line face of the bridge, like `logger` or `systemd-cat`.
    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Log a message, or one record per line of standard input.",
            discussion: """
                With --direct the records go straight to journald and <base>_error.log / <base>_debug.log \
                in this process; otherwise they go through a collector's socket, and the command exits only \
                once the collector has acknowledged every record (or with status 1 after --timeout seconds).
                """
        )

        @Flag(help: "Write to the sinks in this process instead of through a collector.")
        var direct = false

        @Option(
            help:
                "The collector's socket (default: $JOURNAL_BRIDGE_SOCKET, else /run/journal-bridge/journal-bridge.sock)."
        )
        var socket: String?

        @Option(
            help:
                "Seconds to wait for the collector to acknowledge every record, and at most for room while reading stdin, before giving up (exit 1)."
        )
        var timeout: Double = 60

        @OptionGroup var sinks: SinkOptions

        @Option(help: "Level of every record sent.")
        var level: LevelArgument = LevelArgument(argument: "info")!

        @Option(help: "SYSLOG_IDENTIFIER (journalctl -t) of the records.")
        var identifier: String = "journal-bridge"

        @Option(help: "Logger label (LOGGER_LABEL) of the records.")
        var label: String = "journal-bridge.send"

        @Option(name: .customLong("field"), help: ArgumentHelp("Metadata on every record.", valueName: "key=value"))
        var fields: [FieldArgument] = []

        @Argument(help: "The message; '-' or nothing reads one record per line of standard input.")
        var message: String?

        func validate() throws {
            if direct && sinks.base == nil && !sinks.noFiles {
                throw ValidationError("--direct needs --base PATH (or --no-files)")
            }
            if direct && socket != nil { throw ValidationError("--direct and --socket exclude each other") }
        }

        /// The records this invocation sends, in order: the argument, or one per line of stdin,
        /// until `body` returns false.
        private func forEachRecord(_ body: (LogRecord) -> Bool) {
            var origin = Origin.thisProcess
            origin.identifier = identifier
            let metadata = fields.map(\.field)
            func record(_ text: String, source: String, line: UInt32) -> LogRecord {
                LogRecord(
                    level: level.level, label: label, message: text, file: source, function: "send", line: line,
                    metadata: metadata, origin: origin
                )
            }
            if let message, message != "-" {
                _ = body(record(message, source: "<argument>", line: 1))
            } else {
                var lineNumber: UInt32 = 0
                Self.forEachLineOfStandardInput { line in
                    lineNumber += 1
                    var next = record("", source: "<stdin>", line: lineNumber)
                    next.setMessage(bytes: line)  // invalid UTF-8 stays as sent, like logger(1)
                    return body(next)
                }
            }
        }

        /// Each line of stdin as the bytes read, without its "\n" (or "\r\n"), NUL and invalid
        /// UTF-8 kept; a last line without a newline counts. `readLine` would repair the bytes.
        /// Stops when `body` returns false.
        private static func forEachLineOfStandardInput(_ body: (UnsafeRawBufferPointer) -> Bool) {
            var buffer: UnsafeMutablePointer<CChar>? = nil
            var capacity = 0
            defer { free(buffer) }
            // A stream of our own over descriptor 0 (Swift 6 cannot share glibc's `stdin`); it is
            // read once per process and left open, as the descriptor is.
            guard let input = fdopen(STDIN_FILENO, "r") else { return }
            // getline returns -1 at the end of the input and on a read error: both end the input,
            // as they did for readLine.
            while case let count = getline(&buffer, &capacity, input), count >= 0, let buffer {
                var length = count
                if length > 0 && buffer[length - 1] == 0x0A {
                    length -= 1
                    if length > 0 && buffer[length - 1] == 0x0D { length -= 1 }
                }
                guard body(UnsafeRawBufferPointer(start: buffer, count: length)) else { return }
            }
        }

        func run() throws {
            if direct { try runDirect() } else { try runThroughCollector() }
        }

        private func runThroughCollector() throws {
            let shipper = RecordShipper(
                configuration: ShipperConfiguration(
                    socketPath: socket, identifier: identifier, overflow: .block, flushAtExit: nil
                )
            )
            // Each record waits for room at most `timeout` seconds: with the collector away, the
            // shipper fills (65,536 records) and the next would wait for ever.
            var stalled = false
            forEachRecord { record in
                stalled = !shipper.enqueue(record, waitingUntil: MonotonicClock.deadline(after: timeout))
                return !stalled
            }
            guard !stalled, shipper.flush(timeout: timeout) else {
                let statistics = shipper.statistics
                let reading =
                    stalled ? "; stopped reading the input, the collector took no record for \(timeout) s" : ""
                StandardError.write(
                    "journal-bridge: \(statistics.held) records not acknowledged by the collector at \(shipper.configuration.resolvedSocketPath) after \(timeout) s\(reading)\n"
                )
                throw ExitCode(1)
            }
            shipper.shutdown(timeout: 0)
        }

        private func runDirect() throws {
            var defaults = SinkConfiguration(base: "")
            defaults.consoleLevel = nil  // like logger(1): quiet unless asked
            let configuration = sinks.configuration(defaults: defaults)
            let router = Router(routes: try openSinks(configuration))
            // Cut to the protocol's limits as the shipper cuts them: the same bytes in both modes.
            forEachRecord {
                router.route([$0.clampedToWireLimits()])
                return true
            }
            router.close()
            var failed = false
            for sink in router.statistics.perSink where sink.failed > 0 {
                StandardError.write("journal-bridge: \(sink.failed) records were not sent to \(sink.name)\n")
                failed = true
            }
            if failed { throw ExitCode(1) }
        }
    }
}
