import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import JournalBridgeCollector

/// Where the daemon's configuration comes from, shared by `collect` and `check-config`.
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "Configuration file (default: /etc/journal-bridge/journal-bridge.conf, if it exists).")
    var config: String?

    /// The file's configuration (or the defaults when no file was named and the default is absent),
    /// and the file's name for messages. A bad file exits 78 naming the key and the problem.
    func load() throws -> (DaemonConfiguration, String) {
        let path = config ?? DaemonConfiguration.defaultPath
        if config == nil && access(path, F_OK) != 0 { return (DaemonConfiguration(), "defaults") }
        do {
            return (try DaemonConfiguration.load(path: path), path)
        } catch {
            throw ConfigurationFailure(error)
        }
    }
}

/// A configuration error on its way out: `JournalBridgeCommand.run` prints it and exits 78 (EX_CONFIG).
struct ConfigurationFailure: Error, CustomStringConvertible {
    var error: ConfigurationError
    init(_ error: ConfigurationError) { self.error = error }
    var description: String { "journal-bridge: \(error)" }
}

extension JournalBridgeCommand {
    struct Collect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the collector as a service: workers' records to journald and the rotating files.",
            discussion: """
                Under systemd, uses the listening socket passed by socket activation and reports readiness \
                (Type=notify) and watchdog pings. SIGTERM drains every accepted record and exits 0; SIGHUP \
                reopens the log files. A bad configuration exits 78 naming the key and the problem.
                """
        )

        @OptionGroup var configurationOptions: ConfigurationOptions

        @Option(help: "Socket path to bind when systemd passes none.")
        var socket: String?

        @Option(help: "Permissions of a socket the collector binds (octal, e.g. 0660).")
        var socketMode: String?

        @Option(help: "Group owning a socket the collector binds.")
        var socketGroup: String?

        @Option(help: "Memory for unfinished frames and queued records together, e.g. 256M (at least 16M); past it the collector stops reading.")
        var memoryLimit: String?

        @OptionGroup var sinks: SinkOptions

        /// The file's settings with the flags on top.
        func resolved() throws -> (DaemonConfiguration, String) {
            var (configuration, source) = try configurationOptions.load()
            if let socket { configuration.socketPath = socket }
            if let socketGroup { configuration.socketGroup = socketGroup }
            if let memoryLimit {
                guard let bytes = MemoryBudget.parseSize(memoryLimit), bytes >= MemoryBudget.minimumLimit else {
                    throw ValidationError("--memory-limit \(memoryLimit): expected a size of at least 16M, such as 256M or 1G")
                }
                configuration.memoryLimit = bytes
            }
            if let socketMode {
                guard let mode = mode_t(socketMode, radix: 8), mode <= 0o777 else {
                    throw ValidationError("--socket-mode \(socketMode): expected octal permissions such as 0660")
                }
                configuration.socketMode = mode
            }
            configuration.sinks = sinks.configuration(defaults: configuration.sinks)
            return (configuration, source)
        }

        func run() throws {
            let (configuration, source) = try resolved()
            do {
                try Daemon.run(configuration, source: source)
            } catch {
                throw ConfigurationFailure(error)
            }
        }
    }

    struct CheckConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config",
            abstract: "Validate a configuration file without starting; exit 78 naming the key and the problem."
        )

        @OptionGroup var configurationOptions: ConfigurationOptions

        @Argument(help: "The file to check (same as --config).")
        var file: String?

        func run() throws {
            var options = configurationOptions
            if let file { options.config = file }
            let (configuration, source) = try options.load()
            do {
                try configuration.validateEnvironment(source: source)
            } catch {
                throw ConfigurationFailure(error)
            }
            print("\(source): OK (socket \(configuration.socketPath), files \(configuration.sinks.base)_{error,debug}.log)")
        }
    }
}
