import ArgumentParser
import JournalBridge
import JournalBridgeCollector
import JournalBridgeDaemon
import Logging

/// A level as typed on the command line (`debug`, `WARNING`, `warn`, ...).
struct LevelArgument: ExpressibleByArgument, Sendable {
    var level: Logger.Level

    init?(argument: String) {
        guard let level = Logger.Level(parsing: argument) else { return nil }
        self.level = level
    }

    static var allValueStrings: [String] { Logger.Level.allCases.map(\.rawValue) }

    var defaultValueDescription: String { level.rawValue }
}

/// `--field KEY=VALUE`: extra metadata on every record sent.
struct FieldArgument: ExpressibleByArgument, Sendable {
    var field: MetadataField

    init?(argument: String) {
        guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else { return nil }
        field = MetadataField(String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }
}

/// Where the sinks write and what each keeps; shared by `send --direct`, `demo` and `collect`.
struct SinkOptions: ParsableArguments {
    @Option(help: "File base path: writes <base>_error.log and <base>_debug.log.")
    var base: String?

    @Option(help: "Roll a file over before it would reach this many bytes (0: never).")
    var maxBytes: Int?

    @Option(help: "Rotated files kept: <file>.1 ... <file>.N (0: never roll).")
    var backupCount: Int?

    @Option(help: "Lowest level in <base>_error.log (default: warning).")
    var errorLevel: LevelArgument?

    @Option(help: "Lowest level in <base>_debug.log (default: debug).")
    var debugLevel: LevelArgument?

    @Option(help: "Lowest level on the console (stderr).")
    var consoleLevel: LevelArgument?

    @Option(help: "Lowest level sent to journald (default: trace, every record).")
    var journaldLevel: LevelArgument?

    @Option(help: "Records kept for journald while it is away (then the oldest are dropped, counted and reported).")
    var journaldBacklog: Int?

    @Flag(help: "Do not write to the console.")
    var noConsole = false

    @Flag(help: "Do not send to journald.")
    var noJournald = false

    @Flag(help: "Do not write the text files.")
    var noFiles = false

    func validate() throws {
        // The same bounds as the file's keys of these names (DaemonConfiguration.largestCount).
        for (flag, value) in [
            ("max-bytes", maxBytes), ("backup-count", backupCount), ("journald-backlog", journaldBacklog),
        ] {
            guard let value else { continue }
            guard (0...DaemonConfiguration.largestCount).contains(value) else {
                throw ValidationError("--\(flag) must be 0 to \(DaemonConfiguration.largestCount), not \(value)")
            }
        }
    }

    /// The sink set these options describe; `defaults` gives what a flag left unset.
    func configuration(defaults: SinkConfiguration) -> SinkConfiguration {
        var configuration = defaults
        if let base { configuration.base = base }
        if let maxBytes { configuration.maxBytes = maxBytes }
        if let backupCount { configuration.backupCount = backupCount }
        if let journaldBacklog { configuration.journaldBacklog = journaldBacklog }
        if let errorLevel { configuration.errorFileLevel = errorLevel.level }
        if let debugLevel { configuration.debugFileLevel = debugLevel.level }
        if let consoleLevel { configuration.consoleLevel = consoleLevel.level }
        if let journaldLevel { configuration.journaldLevel = journaldLevel.level }
        if noFiles {
            configuration.errorFileLevel = nil
            configuration.debugFileLevel = nil
        }
        if noConsole { configuration.consoleLevel = nil }
        if noJournald { configuration.journaldLevel = nil }
        return configuration
    }
}
