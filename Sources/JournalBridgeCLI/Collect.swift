import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import JournalBridgeCollector
import JournalBridgeDaemon

/// Where the daemon's configuration comes from, shared by `collect` and `check-config`.
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "Configuration file (default: /etc/journal-bridge/journal-bridge.conf, if it exists).")
    var config: String?

    /// The file's configuration (or the defaults when no file was named and the default is absent),
    /// and the file's name for messages. A bad file throws `ConfigurationError` (exit 78).
    func load() throws(ConfigurationError) -> (DaemonConfiguration, String) {
        let path = config ?? DaemonConfiguration.defaultPath
        if config == nil && access(path, F_OK) != 0 { return (DaemonConfiguration(), "defaults") }
        return (try DaemonConfiguration.load(path: path), path)
    }
}

extension JournalBridgeCommand {
    struct Collect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the collector as a service: workers' records to journald and the rotating files.",
            discussion: """
                Under systemd, uses the listening socket passed by socket activation and reports readiness \
                (Type=notify) and watchdog pings. SIGTERM drains every accepted record and exits 0; SIGHUP \
                reopens the log files and reloads the configuration: a valid file's thresholds, rotation, \
                formats, queue policy, rate limit and metrics keys apply at once, the changed keys that need \
                a restart are named, and an invalid file changes nothing and is reported. The counters: \
                journal-bridge status. A bad configuration exits 78 naming the file, line, key and problem, \
                after the same checks as check-config; a failure at run time (log files that cannot be opened, \
                a socket another collector holds) exits 1 with one line on stderr.

                Settings come from the configuration file; the flags below override it.
                """
        )

        @OptionGroup var configurationOptions: ConfigurationOptions

        @Option(help: "Socket path to bind when systemd passes none.")
        var socket: String?

        @Option(help: "Permissions of a socket the collector binds (octal, e.g. 0660).")
        var socketMode: String?

        @Option(help: "Group owning a socket the collector binds.")
        var socketGroup: String?

        @Option(
            help:
                "Memory for unfinished frames and queued records together, e.g. 256M (at least 16M); past it the collector stops reading."
        )
        var memoryLimit: String?

        @Option(help: "Syslog Unix datagram socket to bind, as /dev/log (repeatable; e.g. /run/journal-bridge/syslog).")
        var syslogSocket: [String] = []

        @Option(help: "Syslog Unix stream socket to bind, RFC 6587 framing (repeatable).")
        var syslogStream: [String] = []

        @Option(help: "Syslog over TCP, HOST:PORT, RFC 6587 framing (repeatable; off by default).")
        var syslogTcp: [String] = []

        @Option(help: "Syslog over UDP, HOST:PORT (repeatable; off by default).")
        var syslogUdp: [String] = []

        @Option(help: "Bytes kept of one syslog message; the rest is cut with a marker and counted (default 65536).")
        var syslogMaxMessage: Int?

        @OptionGroup var sinks: SinkOptions

        @Option(
            help:
                "Also send every record to a central syslog receiver: syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT or relp://HOST:PORT (repeatable; replaces the file's forward key)."
        )
        var forward: [String] = []

        @Option(help: "Lowest level forwarded (default: info).")
        var forwardLevel: LevelArgument?

        func validate() throws {
            if let socketMode, parsedSocketMode == nil {
                throw ValidationError("--socket-mode \(socketMode): expected octal permissions such as 0660")
            }
            var probe = DaemonConfiguration()
            for (name, values) in syslogFlags {
                if let error = probe.setSyslogEndpoints(name, values) {
                    throw ValidationError("--\(name): \(error.problem)")
                }
            }
            if let syslogMaxMessage, !(480...8 * 1024 * 1024).contains(syslogMaxMessage) {
                throw ValidationError("--syslog-max-message \(syslogMaxMessage): must be 480 to 8388608 (8 MiB)")
            }
            if let memoryLimit, parsedMemoryLimit == nil {
                throw ValidationError(
                    "--memory-limit \(memoryLimit): expected a size of at least 16M, such as 256M or 1G")
            }
            // A flag's bad value is a bad argument (64, with the usage), not the file's (78).
            for url in forward {
                do { _ = try ForwardDestination(parsing: url) } catch {
                    throw ValidationError("--forward \(url): \(error)")
                }
            }
            if let socketGroup, DaemonConfiguration.groupID(socketGroup) == nil {
                throw ValidationError("--socket-group \(socketGroup): no such group on this machine")
            }
            if let socket, let problem = UnixSocket.pathProblem(socket, suffix: ControlServer.suffix) {
                throw ValidationError("--socket \(problem)")
            }
        }

        private var syslogFlags: [(String, [String])] {
            [
                ("syslog-socket", syslogSocket), ("syslog-stream", syslogStream), ("syslog-tcp", syslogTcp),
                ("syslog-udp", syslogUdp),
            ]
        }

        private var parsedMemoryLimit: Int? {
            memoryLimit.flatMap(MemoryBudget.parseSize).flatMap { $0 >= MemoryBudget.minimumLimit ? $0 : nil }
        }

        private var parsedSocketMode: mode_t? {
            socketMode.flatMap(DaemonConfiguration.parseMode)
        }

        /// The file's settings with the flags on top. A key a flag sets loses its line in the file.
        func resolved() throws(ConfigurationError) -> (DaemonConfiguration, String) {
            var (configuration, source) = try configurationOptions.load()
            if let socket {
                configuration.socketPath = socket
                configuration.lines["socket"] = nil
            }
            if let socketGroup {
                configuration.socketGroup = socketGroup
                configuration.lines["socket_group"] = nil
            }
            if let mode = parsedSocketMode { configuration.socketMode = mode }
            if let bytes = parsedMemoryLimit {
                configuration.memoryLimit = bytes
                configuration.lines["memory_limit"] = nil
            }
            // A flag given replaces the file's list of that kind (checked in `validate`).
            for (name, values) in syslogFlags where !values.isEmpty {
                _ = configuration.setSyslogEndpoints(name, values)
                configuration.lines[String(name.map { $0 == "-" ? "_" : $0 })] = nil
            }
            if let syslogMaxMessage { configuration.syslogMaxMessage = syslogMaxMessage }
            if sinks.base != nil { configuration.lines["base"] = nil }
            configuration.sinks = sinks.configuration(defaults: configuration.sinks)
            if !forward.isEmpty {
                // Parsed in `validate` already: a failure here cannot happen, and would still be said.
                configuration.sinks.forward = try forward.map { url throws(ConfigurationError) in
                    do { return try ForwardDestination(parsing: url) } catch {
                        throw ConfigurationError(.badValue, key: "forward", source: "--forward", "\(error)")
                    }
                }
                configuration.lines["forward"] = nil
            }
            if let forwardLevel { configuration.sinks.forwardLevel = forwardLevel.level }
            return (configuration, source)
        }

        func run() throws {
            let (configuration, source) = try resolved()
            let command = self
            try Daemon.run(configuration, source: source) { () throws(ConfigurationError) in try command.resolved().0 }
        }
    }

    struct CheckConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config",
            abstract: "Validate a configuration file without starting; exit 78 naming the file, line, key and problem.",
            discussion: """
                Runs every check collect runs before it starts (the file itself, every key, the socket's group \
                and path, that the log files can be created and written), as the user running it: run it as \
                the service's user (or root) for an answer that holds for the service.
                """
        )

        @OptionGroup var configurationOptions: ConfigurationOptions

        @Argument(help: "The file to check (same as --config).")
        var file: String?

        func run() throws {
            var options = configurationOptions
            if let file { options.config = file }
            let (configuration, source) = try options.load()
            try configuration.validateEnvironment(source: source)
            print(
                "\(source): OK (socket \(configuration.socketPath), files \(configuration.sinks.base)_{error,debug}.log)"
            )
        }
    }
}
