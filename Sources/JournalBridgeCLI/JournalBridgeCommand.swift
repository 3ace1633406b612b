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
