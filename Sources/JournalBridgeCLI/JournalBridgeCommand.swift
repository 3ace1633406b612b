import ArgumentParser
import JournalBridge
import JournalBridgeCollector
#if canImport(Glibc)
import Glibc
#endif

public struct JournalBridgeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "journal-bridge",
        abstract: "One ordered, reliable log for many processes: swift-log records to journald and rotating files.",
        discussion: """
            Worker processes log through swift-log (or journal-bridge send) to one collector over a Unix \
            stream socket. The collector forwards every record to systemd-journald with structured fields \
            (journalctl -t IDENTIFIER) and keeps rotating text files: <base>_error.log (WARNING and above) \
            and <base>_debug.log (DEBUG and above), the older ones renamed <file>.1 ... <file>.N. The pid, \
            uid and gid of a record come from the socket's peer credentials, never from what the client sends.

            Environment: JOURNAL_BRIDGE_SOCKET is the collector's socket for workers and for send \
            (default /run/journal-bridge/journal-bridge.sock).

            Files: /etc/journal-bridge/journal-bridge.conf is the daemon's configuration (key = value \
            lines: "quoted strings", integers, true/false; check-config validates it). The packaged daemon \
            writes /var/log/journal-bridge/journal-bridge_error.log and journal-bridge_debug.log.

            Exit status: 0 on success; 1 for a runtime failure (records not stored or not acknowledged, \
            files that cannot be opened, a busy socket, an unreachable collector), with one line on stderr; \
            64 for bad command-line usage; 78 for a bad configuration, naming the file, line, key and problem.
            """,
        subcommands: [Send.self, Collect.self, CheckConfig.self, Demo.self, Bench.self, DemoWorker.self, BenchWorker.self]
    )

    public init() {}

    /// Like `main()`, but a configuration error exits 78 with its message instead of
    /// ArgumentParser's generic error output.
    public static func run() -> Never {
        do {
            var command = try parseAsRoot()
            try command.run()
            exit(withError: nil)
        } catch let failure as ConfigurationFailure {
            StandardError.write("\(failure)\n")
            Glibc.exit(ConfigurationError.exitStatus)
        } catch {
            exit(withError: error)
        }
    }
}
