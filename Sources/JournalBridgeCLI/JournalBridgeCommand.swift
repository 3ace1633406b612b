import ArgumentParser
import JournalBridge
import JournalBridgeCollector
#if canImport(Glibc)
import Glibc
import JournalBridgeDaemon
#endif

package struct JournalBridgeCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
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

            Exit status, the same for every subcommand:
              0   success.
              1   a failure at run time, which a retry or a restart may fix: the log files cannot be \
            opened, the socket is held by another collector, the collector does not acknowledge in time. \
            One line on stderr says what failed.
              64  bad arguments (EX_USAGE): the error, then the usage text.
              78  bad configuration (EX_CONFIG): one line naming the file, the line, the key and the \
            problem. journal-bridge.service does not restart on 78 (RestartPreventExitStatus=78).
            """,
        subcommands: [
            Send.self, Collect.self, CheckConfig.self, Status.self, Demo.self, Bench.self, DemoWorker.self,
            BenchWorker.self,
        ]
    )

    package init() {}

    /// Like `main()`, with the error policy of the discussion above in one place. ArgumentParser
    /// handles its own errors (usage and 64 for bad arguments, `--help`, `ExitCode`); from a
    /// running command, a `ConfigurationError` exits 78 and a failure at run time (`RuntimeFailure`,
    /// or a `SystemError` nothing wrapped) exits 1, each as one line without the usage text.
    package static func run() -> Never {
        do {
            var command = try parseAsRoot()
            try command.run()
            exit(withError: nil)
        } catch let error as ConfigurationError {
            StandardError.write("journal-bridge: \(error)\n")
            Glibc.exit(ConfigurationError.exitStatus)
        } catch let error where error is RuntimeFailure || error is SystemError {
            // its description escapes control characters
            let failure = error as? RuntimeFailure ?? RuntimeFailure("\(error)")
            StandardError.write("journal-bridge: \(failure)\n")
            Glibc.exit(RuntimeFailure.exitStatus)
        } catch {
            exit(withError: error)
        }
    }
}
