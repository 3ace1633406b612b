#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import JournalBridgeCollector
import Logging

/// Everything `journal-bridge collect` runs with: the file's settings, then the flags'.
package struct DaemonConfiguration: Sendable, Equatable {
    package static let defaultPath = "/etc/journal-bridge/journal-bridge.conf"

    package var socketPath = WireProtocol.defaultSocketPath
    package var socketMode = CollectorConfiguration.Defaults.socketMode
    /// Group name or number owning the socket; nil leaves the collector's own.
    package var socketGroup: String?
    /// Under systemd the daemon's stderr goes to journald already: console off by default.
    package var sinks = SinkConfiguration(base: "/var/log/journal-bridge/journal-bridge", consoleLevel: nil)
    package var defaultIdentifier = CollectorConfiguration.Defaults.identifier
    package var sinkQueueCapacity = CollectorConfiguration.Defaults.sinkQueueCapacity
    package var maxConnections = CollectorConfiguration.Defaults.maxConnections
    /// Bytes for unfinished frames and queued records together (`memory_limit`, e.g. "256M").
    package var memoryLimit = CollectorConfiguration.defaultMemoryLimit
    /// Fair share per source (`rate_limit_*`; off unless `rate_limit_burst` > 0).
    package var rateLimit = RateLimit()
    /// Where to write the Prometheus textfile for node_exporter (`metrics_textfile`); nil: none.
    package var metricsTextfile: String?
    /// Seconds between textfile writes and `STATUS=` updates (`metrics_interval`).
    package var metricsInterval = 15

    /// Syslog inputs (`syslog_socket`, `syslog_stream`, `syslog_tcp`, `syslog_udp`, each a
    /// comma-separated list; the flags of the same names): none unless configured.
    package var syslogEndpoints: [SyslogEndpoint] = []
    /// Bytes kept of one syslog message (`syslog_max_message`); the rest is cut with a marker and counted.
    package var syslogMaxMessage = SyslogFramer.defaultMaximumMessageBytes

    public init() {}

    /// Replaces the endpoints of kind `name` (`syslog-tcp`, ...) with `values`; the problem with the first bad one otherwise.
    package mutating func setSyslogEndpoints(_ name: String, _ values: [String]) -> SyslogEndpointError? {
        var parsed: [SyslogEndpoint] = []
        for value in values {
            switch SyslogEndpoint.parse(name: name, value: value) {
            case .success(let endpoint): parsed.append(endpoint)
            case .failure(let error): return error
            }
        }
        syslogEndpoints = syslogEndpoints.filter { $0.name != name } + parsed
        return nil
    }

    /// The line that set each key of the file, for messages about it; a key a flag
    /// overrode has none.
    package var lines: [String: Int] = [:]

    /// The settings of a configuration file on top of the defaults. The file must be a regular
    /// file (or a link to one) of at most 1 MiB.
    package static func load(path: String) throws(ConfigurationError) -> DaemonConfiguration {
        var configuration = DaemonConfiguration()
        try configuration.apply(ConfigurationFile(bytes: ConfigurationFile.read(path: path), source: path))
        return configuration
    }

    /// The settings of `text` on top of the defaults; `source` names it in messages.
    package static func parse(_ text: String, source: String) throws(ConfigurationError) -> DaemonConfiguration {
        var configuration = DaemonConfiguration()
        try configuration.apply(ConfigurationFile(text: text, source: source))
        return configuration
    }

    /// The keys a file may set, each with the type it takes.
    static let keys:
        [String:
            @Sendable (inout DaemonConfiguration, ConfigurationFile.Value, Setter) throws(ConfigurationError) -> Void] =
            [
                "socket": { c, v, s throws(ConfigurationError) in c.socketPath = try s.path(v) },
                "socket_mode": { c, v, s throws(ConfigurationError) in c.socketMode = try s.mode(v) },
                "socket_group": { c, v, s throws(ConfigurationError) in c.socketGroup = try s.string(v) },
                "base": { c, v, s throws(ConfigurationError) in c.sinks.base = try s.path(v) },
                "error_file_level": { c, v, s throws(ConfigurationError) in c.sinks.errorFileLevel = try s.level(v) },
                "debug_file_level": { c, v, s throws(ConfigurationError) in c.sinks.debugFileLevel = try s.level(v) },
                "console_level": { c, v, s throws(ConfigurationError) in c.sinks.consoleLevel = try s.level(v) },
                "journald_level": { c, v, s throws(ConfigurationError) in c.sinks.journaldLevel = try s.level(v) },
                // Checked here, applied after every line (`apply`): a level may come later in the file.
                "files": { _, v, s throws(ConfigurationError) in _ = try s.boolean(v) },
                "console": { c, v, s throws(ConfigurationError) in
                    c.sinks.consoleLevel = try s.boolean(v) ? (c.sinks.consoleLevel ?? .info) : nil
                },
                "journald": { _, v, s throws(ConfigurationError) in _ = try s.boolean(v) },  // as "files"
                "max_bytes": { c, v, s throws(ConfigurationError) in c.sinks.maxBytes = try s.integer(v, atLeast: 0) },
                "backup_count": { c, v, s throws(ConfigurationError) in
                    c.sinks.backupCount = try s.integer(v, atLeast: 0)
                },
                "file_format": { c, v, s throws(ConfigurationError) in c.sinks.fileFormat = try s.format(v) },
                "console_format": { c, v, s throws(ConfigurationError) in c.sinks.consoleFormat = try s.format(v) },
                "identifier": { c, v, s throws(ConfigurationError) in c.defaultIdentifier = try s.string(v) },
                "sink_queue_capacity": { c, v, s throws(ConfigurationError) in
                    c.sinkQueueCapacity = try s.integer(v, atLeast: 1)
                },
                "journald_overflow": { c, v, s throws(ConfigurationError) in
                    switch try s.string(v) {
                    case "block": c.sinks.journaldOverflow = .block
                    case "drop": c.sinks.journaldOverflow = .drop
                    case let other: throw s.bad("\"\(other)\": expected \"block\" or \"drop\"")
                    }
                },
                "journald_backlog": { c, v, s throws(ConfigurationError) in
                    c.sinks.journaldBacklog = try s.integer(v, atLeast: 0)
                },
                "rate_limit_interval": { c, v, s throws(ConfigurationError) in
                    c.rateLimit.interval = Double(try s.seconds(v, atLeast: 1))
                },
                "rate_limit_burst": { c, v, s throws(ConfigurationError) in
                    c.rateLimit.burst = try s.integer(v, atLeast: 0)
                },
                "rate_limit_key": { c, v, s throws(ConfigurationError) in
                    let text = try s.string(v)
                    guard let key = RateLimit.Key(rawValue: text) else {
                        throw s.bad("\"\(text)\": expected \"unit\", \"uid\" or \"identifier\"")
                    }
                    c.rateLimit.key = key
                },
                "rate_limit_severity": { c, v, s throws(ConfigurationError) in
                    // Records at this level and above are never limited; "none" limits every level.
                    let text = try s.string(v)
                    c.rateLimit.exemptLevel = text == "none" ? nil : try s.level(v)
                },
                "metrics_textfile": { c, v, s throws(ConfigurationError) in c.metricsTextfile = try s.path(v) },
                "metrics_interval": { c, v, s throws(ConfigurationError) in
                    c.metricsInterval = try s.seconds(v, atLeast: 1)
                },
                "max_connections": { c, v, s throws(ConfigurationError) in
                    c.maxConnections = try s.integer(v, atLeast: 1)
                },
                "syslog_socket": { c, v, s throws(ConfigurationError) in try s.syslog(&c, "syslog-socket", v) },
                "syslog_stream": { c, v, s throws(ConfigurationError) in try s.syslog(&c, "syslog-stream", v) },
                "syslog_tcp": { c, v, s throws(ConfigurationError) in try s.syslog(&c, "syslog-tcp", v) },
                "syslog_udp": { c, v, s throws(ConfigurationError) in try s.syslog(&c, "syslog-udp", v) },
                "syslog_max_message": { c, v, s throws(ConfigurationError) in
                    let bytes = try s.integer(v, atLeast: 480)
                    // Each stream connection holds this much of the memory budget: 8 MiB, the bridge's own frame limit, is plenty.
                    guard bytes <= 8 * 1024 * 1024 else { throw s.bad("\(bytes): must be at most 8388608 (8 MiB)") }
                    c.syslogMaxMessage = bytes
                },
                "memory_limit": { c, v, s throws(ConfigurationError) in
                    let text = if case .integer(let bytes) = v { String(bytes) } else { try s.string(v) }
                    guard let bytes = MemoryBudget.parseSize(text), bytes >= MemoryBudget.minimumLimit else {
                        throw s.bad("\"\(text)\": expected a size of at least 16M, such as \"256M\" or \"1G\"")
                    }
                    c.memoryLimit = bytes
                },
                // The file format has no lists: several receivers are one comma-separated string.
                "forward": { c, v, s throws(ConfigurationError) in c.sinks.forward = try s.destinations(v) },
                "forward_level": { c, v, s throws(ConfigurationError) in c.sinks.forwardLevel = try s.level(v) },
                "forward_ca": { c, v, s throws(ConfigurationError) in c.sinks.forwardOptions.caFile = try s.path(v) },
                "forward_cert": { c, v, s throws(ConfigurationError) in
                    c.sinks.forwardOptions.certificateFile = try s.path(v)
                },
                "forward_key": { c, v, s throws(ConfigurationError) in c.sinks.forwardOptions.keyFile = try s.path(v) },
                "forward_buffer": { c, v, s throws(ConfigurationError) in
                    c.sinks.forwardOptions.bufferRecords = try s.integer(v, atLeast: 1)
                },
                "forward_spill": { c, v, s throws(ConfigurationError) in
                    c.sinks.forwardOptions.spillDirectory = try s.path(v)
                },
                "forward_spill_bytes": { c, v, s throws(ConfigurationError) in
                    c.sinks.forwardOptions.spillBytes = try s.integer(v, atLeast: 1 << 20)
                },
                "forward_drain_seconds": { c, v, s throws(ConfigurationError) in
                    c.sinks.forwardOptions.drainSeconds = Double(try s.seconds(v, atLeast: 0))
                },
                "forward_buffer_bytes": { c, v, s throws(ConfigurationError) in
                    c.sinks.forwardOptions.bufferBytes = try s.integer(v, atLeast: 1)
                },
            ]

    mutating func apply(_ file: ConfigurationFile) throws(ConfigurationError) {
        // Sorted by line, so the first problem in the file is the one reported.
        for (key, entry) in file.entries.sorted(by: { $0.value.line < $1.value.line }) {
            let setter = Setter(key: key, source: file.source, line: entry.line)
            guard let apply = Self.keys[key] else {
                throw ConfigurationError(
                    .unknownKey, key: key, source: file.source, line: entry.line,
                    "known keys: \(Self.keys.keys.sorted().joined(separator: ", "))"
                )
            }
            try apply(&self, entry.value, setter)
            lines[key] = entry.line
        }
        // `journald = false` and `files = false` win wherever their levels stand: the shipped file
        // sets `journald_level` on the line after `journald`, which would otherwise turn it back on.
        if file.entries["journald"]?.value == .boolean(false) { sinks.journaldLevel = nil }
        if file.entries["files"]?.value == .boolean(false) {
            sinks.errorFileLevel = nil
            sinks.debugFileLevel = nil
        }
        // `console = true` before `console_level` must still honour the level, and `console = false`
        // wins wherever `console_level` stands (the shipped file sets both); both orders mean the same.
        if file.entries["console"]?.value == .boolean(false) {
            sinks.consoleLevel = nil
        } else if let consoleLevel = file.entries["console_level"], case .string(let text) = consoleLevel.value {
            sinks.consoleLevel = Logger.Level(parsing: text)
        }
    }

    /// What the forward sinks' buffers may hold together (`forward_buffer_bytes` per receiver).
    package var forwardBufferBytes: Int {
        let (bytes, overflow) = sinks.forward.count.multipliedReportingOverflow(by: sinks.forwardOptions.bufferBytes)
        return overflow ? .max : bytes
    }

    /// The collector's own budget (frames and queued records): what `memory_limit` leaves
    /// once the forward buffers have their share, so that `memory_limit` bounds them all.
    package var collectorMemoryLimit: Int { memoryLimit - forwardBufferBytes }

    /// The forward buffers may take at most half of `memory_limit`: the rest stays for the
    /// inputs' frames and the sink queues (`MemoryBudget`), and never below its minimum.
    func checkMemory(source: String) throws(ConfigurationError) {
        guard forwardBufferBytes > 0 else { return }
        let left = collectorMemoryLimit
        guard left >= memoryLimit / 2, left >= MemoryBudget.minimumLimit else {
            // The line to name: the buffer size if the file sets it, else the limit, else the receivers.
            let key =
                ["forward_buffer_bytes", "memory_limit", "forward"].first { lines[$0] != nil } ?? "forward_buffer_bytes"
            throw ConfigurationError(
                .badValue, key: key, source: source, line: lines[key],
                "\(sinks.forward.count) receiver(s) x forward_buffer_bytes \(sinks.forwardOptions.bufferBytes) = \(forwardBufferBytes) bytes, more than half of memory_limit \(memoryLimit) (the forward buffers count within it): lower forward_buffer_bytes or raise memory_limit"
            )
        }
    }

    /// The largest count or size any key takes (2^40: records, bytes, connections): far past any
    /// real setting, and far enough from `Int.max` that sums and products of them do not overflow.
    package static let largestCount = 1 << 40
    /// The longest interval a key takes, in seconds: a day (as nanoseconds it fits `UInt64` many times over).
    package static let largestSeconds = 86_400

    /// Converts a value to what a key needs, or says why not.
    struct Setter {
        let key: String
        let source: String
        let line: Int?

        func bad(_ problem: String) -> ConfigurationError {
            ConfigurationError(.badValue, key: key, source: source, line: line, problem)
        }

        private func wrongType(_ value: ConfigurationFile.Value, expected: String) -> ConfigurationError {
            ConfigurationError(
                .wrongType, key: key, source: source, line: line, "expected \(expected), got \(value.typeName)")
        }

        func string(_ value: ConfigurationFile.Value) throws(ConfigurationError) -> String {
            guard case .string(let text) = value else { throw wrongType(value, expected: "a string") }
            return text
        }

        func path(_ value: ConfigurationFile.Value) throws(ConfigurationError) -> String {
            let text = try string(value)
            guard !text.isEmpty else { throw bad("empty path") }
            return text
        }

        func boolean(_ value: ConfigurationFile.Value) throws(ConfigurationError) -> Bool {
            guard case .boolean(let flag) = value else { throw wrongType(value, expected: "true or false") }
            return flag
        }

        /// An integer in `minimum...maximum`. Every key has an upper bound: the collector adds to,
        /// multiplies and converts these, and a number near `Int.max` that check-config passed
        /// must not overflow when `collect` uses it.
        func integer(
            _ value: ConfigurationFile.Value, atLeast minimum: Int,
            atMost maximum: Int = DaemonConfiguration.largestCount
        ) throws(ConfigurationError) -> Int {
            guard case .integer(let number) = value else { throw wrongType(value, expected: "an integer") }
            guard number >= minimum else { throw bad("\(number): must be at least \(minimum)") }
            guard number <= maximum else { throw bad("\(number): must be at most \(maximum)") }
            return number
        }

        /// Seconds, as the interval keys take them: at most a day.
        func seconds(_ value: ConfigurationFile.Value, atLeast minimum: Int) throws(ConfigurationError) -> Int {
            try integer(value, atLeast: minimum, atMost: DaemonConfiguration.largestSeconds)
        }

        func level(_ value: ConfigurationFile.Value) throws(ConfigurationError) -> Logger.Level {
            let text = try string(value)
            guard let level = Logger.Level(parsing: text) else {
                throw bad(
                    "\"\(text)\" is not a level (\(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return level
        }

        func destinations(_ value: ConfigurationFile.Value) throws(ConfigurationError) -> [ForwardDestination] {
            var result: [ForwardDestination] = []
            for url in try string(value).split(separator: ",").map({ String($0.trimmingSpaces) }) where !url.isEmpty {
                do { result.append(try ForwardDestination(parsing: url)) } catch { throw bad(error.description) }
            }
            return result
        }

        func mode(_ value: ConfigurationFile.Value) throws(ConfigurationError) -> mode_t {
            let text = try string(value)
            guard let mode = DaemonConfiguration.parseMode(text) else {
                throw bad("\"\(text)\": expected octal permissions such as \"0660\"")
            }
            return mode
        }

        /// A comma-separated list of syslog endpoints of one kind ("" for none).
        func syslog(_ configuration: inout DaemonConfiguration, _ name: String, _ value: ConfigurationFile.Value)
            throws(ConfigurationError)
        {
            let items = try string(value).split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
            if let error = configuration.setSyslogEndpoints(name, items) { throw bad(error.problem) }
        }

        func format(_ value: ConfigurationFile.Value) throws(ConfigurationError) -> LineFormat {
            let text = try string(value)
            do {
                return try LineFormat(text)
            } catch {
                throw bad(error.problem)
            }
        }
    }

    /// Every check `collect` makes before it starts, and so everything `check-config` checks:
    /// both call this one function, so that a file `check-config` passes is one `collect`
    /// starts with (as the same user). Checks what only this machine can tell: the socket's
    /// group exists; the socket's path fits a Unix socket address and is not taken by another
    /// kind of file; a file can really be created where the log files go (a probe created and
    /// removed at once: `access` says yes to root under /proc); existing log files are regular
    /// files that can be opened for writing. What fails after this (the socket busy, a log file
    /// gone bad since) is a failure at run time, not a configuration error.
    ///
    /// `activated`: the sockets systemd passed, `main` and the syslog kinds by name
    /// (`syslog-socket`...): their configured paths are not bound, so not checked.
    package func validateEnvironment(
        source: String, activated: (main: Bool, syslog: Set<String>) = (false, [])
    ) throws(ConfigurationError) {
        try checkMemory(source: source)
        try checkSocket(source: source, activated: activated)
        if let group = socketGroup, Self.groupID(group) == nil {
            throw ConfigurationError(
                .badValue, key: "socket_group", source: source, line: lines["socket_group"],
                "no group \"\(group)\" on this machine"
            )
        }
        if let (key, problem) = ForwardTLS.problem(sinks.forwardOptions, forwarding: sinks.forward) {
            throw ConfigurationError(.badValue, key: key, source: source, line: lines[key], problem)
        }
        if let spill = sinks.forwardOptions.spillDirectory, !sinks.forward.isEmpty {
            let line = lines["forward_spill"]
            let directory = try Self.nearestExistingDirectory(
                of: spill + "/x", key: "forward_spill", source: source, line: line)
            guard access(directory, W_OK | X_OK) == 0 else {
                throw ConfigurationError(
                    .unwritable, key: "forward_spill", source: source, line: line,
                    "\(directory): \(String(cString: strerror(errno)))")
            }
            // A receiver's directory left there must be one `collect` will use (`ForwardSpill`):
            // a directory, of this user's, that nobody else may write.
            for destination in sinks.forward {
                let own = ForwardSink.spillDirectory(of: destination, in: spill)
                var info = stat()
                guard lstat(own, &info) == 0 else { continue }  // made at start
                let problem =
                    info.st_mode & S_IFMT != S_IFDIR
                    ? "is \(FileDescriptorIO.kind(info.st_mode)), not a directory" : ForwardSpill.ownershipProblem(info)
                if let problem {
                    throw ConfigurationError(
                        .unwritable, key: "forward_spill", source: source, line: line,
                        "\(own) \(problem): the spill would not be the collector's alone")
                }
            }
        }
        var logFiles: [String] = []
        if sinks.errorFileLevel != nil { logFiles.append(sinks.errorFilePath) }
        if sinks.debugFileLevel != nil { logFiles.append(sinks.debugFilePath) }
        guard !logFiles.isEmpty else { return }
        func unwritable(_ problem: String) -> ConfigurationError {
            ConfigurationError(.unwritable, key: "base", source: source, line: lines["base"], problem)
        }
        let directory = try Self.nearestExistingDirectory(
            of: sinks.base, key: "base", source: source, line: lines["base"])
        guard access(directory, W_OK | X_OK) == 0 else {
            throw unwritable("\(directory): \(String(cString: strerror(errno)))")
        }
        try Self.probeFileCreation(in: directory, failure: unwritable)
        for path in logFiles {
            var info = stat()
            // absent: created at start, which the probe showed possible
            guard lstat(path, &info) == 0 else { continue }
            // The rule `collect` applies when it opens the file, checked here on the path so that
            // check-config refuses the same files with the same words.
            if let problem = FileDescriptorIO.logFileProblem(info) {
                throw unwritable(FileDescriptorIO.refusal(path, problem.reason, errno: problem.errno).call)
            }
            // Non-blocking and without O_CREAT: checks that the file can be written without touching it.
            do {
                let fd = try syscall("open") {
                    open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
                }
                close(fd)  // opened only to check: nothing written, nothing to lose if close fails
            } catch  where Self.passingErrors.contains(error.errno) {
                continue
            } catch {
                throw unwritable("\(path): \(String(cString: strerror(error.errno)))")
            }
        }
    }

    /// The socket's path: short enough for `sockaddr_un`, and not another kind of file.
    private func checkSocket(source: String, activated: (main: Bool, syslog: Set<String>)) throws(ConfigurationError) {
        // The control channel's socket is this path and `.control`: both must fit.
        if !activated.main {
            try Self.checkSocketPath(
                socketPath, key: "socket", source: source, line: lines["socket"], suffix: ControlServer.suffix)
        }
        for endpoint in syslogEndpoints where !activated.syslog.contains(endpoint.name) {
            switch endpoint {
            case .unixDatagram(let path):
                try Self.checkSocketPath(path, key: "syslog_socket", source: source, line: lines["syslog_socket"])
            case .unixStream(let path):
                try Self.checkSocketPath(path, key: "syslog_stream", source: source, line: lines["syslog_stream"])
            case .tcp, .udp:
                continue  // systemd or the kernel checks an address when it is bound
            }
        }
    }

    /// A socket `collect` will bind at `path` (and `path` + `suffix`): the path fits a Unix socket
    /// address, is not another kind of file, and its directory can be made. The one home of the
    /// rule for every socket the daemon binds by path.
    private static func checkSocketPath(
        _ path: String, key: String, source: String, line: Int?, suffix: String = ""
    ) throws(ConfigurationError) {
        if let problem = UnixSocket.pathProblem(path, suffix: suffix) {
            throw ConfigurationError(.badValue, key: key, source: source, line: line, problem)
        }
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFSOCK {
            throw ConfigurationError(
                .unwritable, key: key, source: source, line: line,
                "\(path) is \(FileDescriptorIO.kind(info.st_mode)), not a socket"
            )
        }
        _ = try nearestExistingDirectory(of: path, key: key, source: source, line: line)
        // The directory's owner and mode by the rule `collect` applies when it binds.
        do { try UnixSocket.checkDirectory(of: path) } catch {
            throw ConfigurationError(.unwritable, key: key, source: source, line: line, error.call)
        }
    }

    /// The nearest existing ancestor of `path`'s directory (what `mkdir -p` would create in);
    /// an error if that is not a directory, or if the way there goes through a symbolic link
    /// another user owns (`FileDescriptorIO.openDirectory`, which `collect` walks).
    static func nearestExistingDirectory(of path: String, key: String, source: String, line: Int?)
        throws(ConfigurationError) -> String
    {
        var directory = path.hasPrefix("/") ? path : "./" + path
        repeat {
            directory = String(directory[..<(directory.lastIndex(of: "/") ?? directory.startIndex)])
            if directory.isEmpty { directory = "/" }
            var info = stat()
            if stat(directory, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFDIR else {
                    throw ConfigurationError(
                        .unwritable, key: key, source: source, line: line, "\(directory) is not a directory")
                }
                do {
                    close(try FileDescriptorIO.openDirectory(directory))
                } catch  where error.errno == EPERM {
                    throw ConfigurationError(.unwritable, key: key, source: source, line: line, error.call)
                } catch {}  // what else the walk meets, the checks that follow name (access, the probe)
                return directory
            }
        } while directory != "/"
        return "/"
    }

    /// Failures of a check that say nothing against the configuration and may pass by themselves
    /// (a full disk, no descriptors or memory left, an I/O error): the check lets them through, so
    /// that `collect` fails at run time (exit 1, restarted) instead of with 78 (never restarted).
    /// EEXIST: a probe left by a check killed midway (same pid, same random name): files were made there.
    private static let passingErrors: Set<Int32> = [ENOSPC, EDQUOT, EMFILE, ENFILE, ENOMEM, EIO, EEXIST]

    /// Creates and removes a file in `directory`: the only sure way to know that the log files
    /// (or the directories above them) can be created there, whoever we run as and whatever the
    /// file system (procfs and sysfs take no new files, a read-only mount says EROFS).
    private static func probeFileCreation(in directory: String, failure: (String) -> ConfigurationError)
        throws(ConfigurationError)
    {
        let probe =
            "\(directory == "/" ? "" : directory)/.journal-bridge-check-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            let fd = try syscall("open") {
                open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
            }
            close(fd)  // empty and removed next: nothing to lose if close fails
        } catch  where passingErrors.contains(error.errno) {
            return
        } catch {
            throw failure("cannot create a file in \(directory): \(String(cString: strerror(error.errno)))")
        }
        do {
            try syscall("unlink") { unlink(probe) }
        } catch {
            throw failure("created \(probe) but cannot remove it: \(String(cString: strerror(error.errno)))")
        }
    }

    /// Octal permission bits such as "0660" or "660" (at most 0777); nil for anything else.
    /// The one parser of `socket_mode` and `--socket-mode`.
    package static func parseMode(_ text: String) -> mode_t? {
        guard !text.isEmpty, let mode = mode_t(text, radix: 8), mode <= 0o777 else { return nil }
        return mode
    }

    /// The number of a group given by name or number; nil when this machine has no such group.
    package static func groupID(_ group: String) -> gid_t? {
        if let number = gid_t(group) { return number }
        guard let entry = getgrnam(group) else { return nil }
        return entry.pointee.gr_gid
    }
}

extension DaemonConfiguration {
    /// The syslog inputs to run: systemd's named sockets first, then the configured endpoints it passed none of.
    package func syslogInputSettings(activated: [(name: String, fd: Int32)]) -> [SyslogInputSettings] {
        // Unix syslog sockets are for every local program, as /dev/log is: 0666 unless socket_group narrows them.
        let template = SyslogInputSettings(
            endpoint: .unixDatagram(path: SyslogEndpoint.defaultSocketPath), maximumMessageBytes: syslogMaxMessage,
            socketMode: socketGroup == nil ? 0o666 : socketMode, socketGroup: socketGroup.flatMap(Self.groupID),
            maxConnections: maxConnections, defaultIdentifier: defaultIdentifier
        )
        return SyslogActivation.settings(configured: syslogEndpoints, activated: activated, template: template)
    }
}
