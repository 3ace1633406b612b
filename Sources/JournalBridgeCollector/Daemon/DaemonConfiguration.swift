#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Logging

/// Everything `journal-bridge collect` runs with: the file's settings, then the flags'.
public struct DaemonConfiguration: Sendable, Equatable {
    public static let defaultPath = "/etc/journal-bridge/journal-bridge.conf"

    public var socketPath = WireProtocol.defaultSocketPath
    public var socketMode: mode_t = 0o660
    /// Group name or number owning the socket; nil leaves the collector's own.
    public var socketGroup: String?
    /// Under systemd the daemon's stderr goes to journald already: console off by default.
    public var sinks = SinkConfiguration(base: "/var/log/journal-bridge/journal-bridge", consoleLevel: nil)
    public var defaultIdentifier = "unknown"
    public var sinkQueueCapacity = 16384
    public var journaldOverflow = SinkQueue.Overflow.block
    public var maxConnections = 4096
    /// Bytes for unfinished frames and queued records together (`memory_limit`, e.g. "256M").
    public var memoryLimit = CollectorConfiguration.defaultMemoryLimit

    public init() {}

    /// The settings of a configuration file on top of the defaults.
    public static func load(path: String) throws(ConfigurationError) -> DaemonConfiguration {
        guard let text = readFile(path) else {
            throw ConfigurationError(.unreadable, source: path, "\(String(cString: strerror(errno)))")
        }
        var configuration = DaemonConfiguration()
        try configuration.apply(ConfigurationFile(text: text, source: path))
        return configuration
    }

    public static func parse(_ text: String, source: String) throws(ConfigurationError) -> DaemonConfiguration {
        var configuration = DaemonConfiguration()
        try configuration.apply(ConfigurationFile(text: text, source: source))
        return configuration
    }

    /// The keys a file may set, each with the type it takes.
    static let keys: [String: @Sendable (inout DaemonConfiguration, ConfigurationFile.Value, Setter) throws(ConfigurationError) -> Void] = [
        "socket": { c, v, s throws(ConfigurationError) in c.socketPath = try s.path(v) },
        "socket_mode": { c, v, s throws(ConfigurationError) in c.socketMode = try s.mode(v) },
        "socket_group": { c, v, s throws(ConfigurationError) in c.socketGroup = try s.string(v) },
        "base": { c, v, s throws(ConfigurationError) in c.sinks.base = try s.path(v) },
        "error_file_level": { c, v, s throws(ConfigurationError) in c.sinks.errorFileLevel = try s.level(v) },
        "debug_file_level": { c, v, s throws(ConfigurationError) in c.sinks.debugFileLevel = try s.level(v) },
        "console_level": { c, v, s throws(ConfigurationError) in c.sinks.consoleLevel = try s.level(v) },
        "journald_level": { c, v, s throws(ConfigurationError) in c.sinks.journaldLevel = try s.level(v) },
        "files": { c, v, s throws(ConfigurationError) in
            if try !s.boolean(v) {
                c.sinks.errorFileLevel = nil
                c.sinks.debugFileLevel = nil
            }
        },
        "console": { c, v, s throws(ConfigurationError) in
            c.sinks.consoleLevel = try s.boolean(v) ? (c.sinks.consoleLevel ?? .info) : nil
        },
        "journald": { c, v, s throws(ConfigurationError) in if try !s.boolean(v) { c.sinks.journaldLevel = nil } },
        "max_bytes": { c, v, s throws(ConfigurationError) in c.sinks.maxBytes = try s.integer(v, atLeast: 0) },
        "backup_count": { c, v, s throws(ConfigurationError) in c.sinks.backupCount = try s.integer(v, atLeast: 0) },
        "file_format": { c, v, s throws(ConfigurationError) in c.sinks.fileFormat = try s.format(v) },
        "console_format": { c, v, s throws(ConfigurationError) in c.sinks.consoleFormat = try s.format(v) },
        "identifier": { c, v, s throws(ConfigurationError) in c.defaultIdentifier = try s.string(v) },
        "sink_queue_capacity": { c, v, s throws(ConfigurationError) in c.sinkQueueCapacity = try s.integer(v, atLeast: 1) },
        "journald_overflow": { c, v, s throws(ConfigurationError) in
            switch try s.string(v) {
            case "block": c.journaldOverflow = .block
            case "drop": c.journaldOverflow = .drop
            case let other: throw s.bad("\"\(other)\": expected \"block\" or \"drop\"")
            }
        },
        "journald_backlog": { c, v, s throws(ConfigurationError) in c.sinks.journaldBacklog = try s.integer(v, atLeast: 0) },
        "max_connections": { c, v, s throws(ConfigurationError) in c.maxConnections = try s.integer(v, atLeast: 1) },
        "memory_limit": { c, v, s throws(ConfigurationError) in
            let text = if case .integer(let bytes) = v { String(bytes) } else { try s.string(v) }
            guard let bytes = MemoryBudget.parseSize(text), bytes >= MemoryBudget.minimumLimit else {
                throw s.bad("\"\(text)\": expected a size of at least 16M, such as \"256M\" or \"1G\"")
            }
            c.memoryLimit = bytes
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
        }
        // `console = true` before `console_level` must still honour the level; both orders mean the same.
        if let consoleLevel = file.entries["console_level"], case .string(let text) = consoleLevel.value,
            file.entries["console"]?.value != .boolean(false)
        {
            sinks.consoleLevel = Logger.Level(parsing: text)
        }
    }

    /// Converts a value to what a key needs, or says why not.
    struct Setter {
        let key: String
        let source: String
        let line: Int?

        func bad(_ problem: String) -> ConfigurationError {
            ConfigurationError(.badValue, key: key, source: source, line: line, problem)
        }

        private func wrongType(_ value: ConfigurationFile.Value, expected: String) -> ConfigurationError {
            ConfigurationError(.wrongType, key: key, source: source, line: line, "expected \(expected), got \(value.typeName)")
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

        func integer(_ value: ConfigurationFile.Value, atLeast minimum: Int) throws(ConfigurationError) -> Int {
            guard case .integer(let number) = value else { throw wrongType(value, expected: "an integer") }
            guard number >= minimum else { throw bad("\(number): must be at least \(minimum)") }
            return number
        }

        func level(_ value: ConfigurationFile.Value) throws(ConfigurationError) -> Logger.Level {
            let text = try string(value)
            guard let level = Logger.Level(parsing: text) else {
                throw bad("\"\(text)\" is not a level (\(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return level
        }

        func mode(_ value: ConfigurationFile.Value) throws(ConfigurationError) -> mode_t {
            let text = try string(value)
            guard let mode = mode_t(text, radix: 8), mode <= 0o777 else {
                throw bad("\"\(text)\": expected octal permissions such as \"0660\"")
            }
            return mode
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

    /// What can only be checked on this machine: the group exists, the log
    /// directory and the socket's directory can be created and written.
    public func validateEnvironment(source: String) throws(ConfigurationError) {
        if let group = socketGroup, Self.groupID(group) == nil {
            throw ConfigurationError(.badValue, key: "socket_group", source: source, "no group \"\(group)\" on this machine")
        }
        if sinks.errorFileLevel != nil || sinks.debugFileLevel != nil {
            try Self.checkWritableDirectory(of: sinks.base, key: "base", source: source)
        }
    }

    static func checkWritableDirectory(of path: String, key: String, source: String) throws(ConfigurationError) {
        // The nearest existing ancestor must let us create (or write in) what is below it.
        var directory = path.hasPrefix("/") ? path : "./" + path
        repeat {
            directory = String(directory[..<(directory.lastIndex(of: "/") ?? directory.startIndex)])
            if directory.isEmpty { directory = "/" }
            var info = stat()
            if stat(directory, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFDIR else {
                    throw ConfigurationError(.unwritable, key: key, source: source, "\(directory) is not a directory")
                }
                guard access(directory, W_OK | X_OK) == 0 else {
                    throw ConfigurationError(.unwritable, key: key, source: source, "\(directory): \(String(cString: strerror(errno)))")
                }
                return
            }
        } while directory != "/"
    }

    public static func groupID(_ group: String) -> gid_t? {
        if let number = gid_t(group) { return number }
        guard let entry = getgrnam(group) else { return nil }
        return entry.pointee.gr_gid
    }

    private static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
