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
                Self.forEachLineOfStandardInput(keeping: WireProtocol.maxFieldBytes) { kept, length in
                    lineNumber += 1
                    var next = record("", source: "<stdin>", line: lineNumber)
                    // Invalid UTF-8 stays as sent, like logger(1); a line past the limit is cut as
                    // the shipper would cut it, the note counting the whole line.
                    if length > kept.count {
                        WireLimits.truncated(kept, total: length, toBytes: WireProtocol.maxFieldBytes).withUnsafeBytes {
                            next.setMessage(bytes: $0)
                        }
                    } else {
                        next.setMessage(bytes: kept)
                    }
                    return body(next)
                }
            }
        }

        /// Each line of stdin as the bytes read, without its "\n" (or "\r\n"), NUL and invalid
        /// UTF-8 kept; a last line without a newline counts. `readLine` would repair the bytes.
        /// Of a line longer than `limit` only its first `limit + 1` bytes are kept, with its
        /// length: a 100 MB line held 200 MB (getline's buffer and a copy) to be cut to 2 MiB.
        /// Stops when `body` returns false.
        private static func forEachLineOfStandardInput(
            keeping limit: Int, _ body: (_ kept: UnsafeRawBufferPointer, _ length: Int) -> Bool
        ) {
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            var line: [UInt8] = []
            var length = 0  // the whole line's, kept or not
            var last: UInt8 = 0  // its last byte, kept or not (a CR before the LF)
            func emit(endedByNewline: Bool) -> Bool {
                if endedByNewline && length > 0 && last == 0x0D {
                    length -= 1
                    if line.count > length { line.removeLast() }
                }
                defer {
                    line.removeAll(keepingCapacity: line.count <= 64 * 1024)
                    length = 0
                }
                return line.withUnsafeBytes { body($0, length) }
            }
            while true {
                let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                // The end of the input, or a read error: both end it, as they did for readLine.
                guard count > 0 else {
                    if length > 0 { _ = emit(endedByNewline: false) }
                    return
                }
                var start = 0
                while start < count {
                    let newline = chunk[start..<count].firstIndex(of: 0x0A)
                    let end = newline ?? count
                    if end > start {
                        let room = max(0, limit + 1 - line.count)
                        line.append(contentsOf: chunk[start..<min(end, start + room)])
                        length += end - start
                        last = chunk[end - 1]
                    }
                    guard newline != nil else { break }
                    guard emit(endedByNewline: true) else { return }
                    last = 0
                    start = end + 1
                }
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
