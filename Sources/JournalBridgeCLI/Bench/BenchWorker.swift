import ArgumentParser
import JournalBridge
import Logging
#if canImport(Glibc)
import Glibc
#endif

extension JournalBridgeCommand {
    /// One of the benchmark's worker processes (started by `bench`): logs through
    /// the real swift-log API and BridgeLogHandler, timing every `log` call.
    struct BenchWorker: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "bench-worker", shouldDisplay: false)

        @Option var socket: String
        @Option var index: Int
        @Option var records: Int
        @Option var recordSize: Int
        @Option var metadata: Int
        @Option var identifier: String
        /// Records per second; 0: as fast as possible.
        @Option var rate: Double = 0
        /// Where to write the per-call durations (native-endian UInt32 nanoseconds).
        @Option var latencyFile: String

        func run() throws {
            let shipper = RecordShipper(
                configuration: ShipperConfiguration(
                    socketPath: socket, identifier: identifier, overflow: .block, flushAtExit: nil)
            )
            var logger = Logger(label: "bench.worker-\(index)") {
                BridgeLogHandler(label: $0, shipper: shipper, metadataProvider: nil)
            }
            logger.logLevel = .debug
            var fields: Logger.Metadata = [:]
            for k in 0..<metadata { fields["k\(k)"] = "value-\(k)" }
            let levels: [Logger.Level] = [.debug, .info, .warning, .error, .critical]
            let prefix = "bench worker \(index) record "
            let padding = String(repeating: "x", count: max(0, recordSize - prefix.utf8.count - 8))
            // Messages are made before the clock starts: the figure is the cost of `log`, not of formatting.
            let messages = (0..<records).map { "\(prefix)\($0) \(padding)" }
            var durations = [UInt32](repeating: 0, count: records)
            let interval = rate > 0 ? UInt64(1e9 / rate) : 0
            var next = MonotonicClock.now()
            for i in 0..<records {
                if interval > 0 {
                    // Paced: sleep to the record's slot (never spin: ten spinning workers would starve
                    // the collector on two cores); a late slot logs at once and the schedule catches up.
                    next += interval
                    let now = MonotonicClock.now()
                    if next > now {
                        var pause = timespec(
                            tv_sec: Int((next - now) / 1_000_000_000), tv_nsec: Int((next - now) % 1_000_000_000))
                        nanosleep(&pause, nil)
                    }
                }
                let message = messages[i]
                let started = MonotonicClock.now()
                logger.log(level: levels[i % levels.count], "\(message)", metadata: fields)
                durations[i] = UInt32(clamping: MonotonicClock.now() - started)
            }
            guard shipper.flush(timeout: 600) else { throw ExitCode(1) }
            shipper.shutdown(timeout: 0)
            let fd = open(latencyFile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw ExitCode(1) }
            defer { close(fd) }
            do {
                try writeAll(fd, durations.withUnsafeBytes { Array($0) })
            } catch {
                throw ExitCode(1)
            }
        }
    }
}
