#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Logging

/// The Python pattern's `config_log`, as data: `<base>_error.log` at WARNING+,
/// `<base>_debug.log` at DEBUG+, console at INFO+, journald at TRACE+ (every record).
/// A nil threshold turns that sink off.
public struct SinkConfiguration: Sendable, Equatable {
    /// Path prefix of the files: `<base>_error.log`, `<base>_debug.log`.
    public var base: String
    /// Threshold of `<base>_error.log`; WARNING unless set, nil: no such file.
    public var errorFileLevel: Logger.Level?
    /// Threshold of `<base>_debug.log`; DEBUG unless set, nil: no such file.
    public var debugFileLevel: Logger.Level?
    /// Threshold of the console; INFO unless set, nil: no console.
    public var consoleLevel: Logger.Level?
    /// Threshold of journald; TRACE (every record) unless set, nil: no journald.
    public var journaldLevel: Logger.Level?
    /// Size at which a file rolls over (0: never).
    public var maxBytes: Int
    /// Rolled-over copies kept (`.1` ... `.N`; 0: the file never rolls).
    public var backupCount: Int
    /// Line format of both files.
    public var fileFormat: LineFormat
    /// Line format of the console.
    public var consoleFormat: LineFormat
    /// Where the console sink writes: stderr unless set.
    public var consoleDescriptor: Int32 = 2
    /// Vouch for each worker with `OBJECT_*` fields (its unit, comm, exe, ..., read when it
    /// connected), so that `journalctl -u <its unit>` finds its records. journald honours them
    /// only from root; nil: `JournaldSink.attributesObjectPIDByDefault` (when running as root).
    public var journaldObjectPID: Bool?
    /// Records the journald sink keeps while journald is away (then drops the oldest, counted).
    public var journaldBacklog = JournaldSink.defaultBacklogCapacity
    /// What the journald route's queue does when full: wait (lossless, the default) or drop
    /// for journald only, so that a journald slower than the workers does not hold back the files.
    public var journaldOverflow = SinkRoute.Overflow.block
    /// Central syslog receivers each record at `forwardLevel` and above also goes to (`ForwardSink`).
    package var forward: [ForwardDestination] = []
    package var forwardLevel: Logger.Level = .info
    package var forwardOptions = ForwardOptions()

    /// The Python pattern's defaults for the files at `base`; each argument overrides one.
    public init(
        base: String,
        errorFileLevel: Logger.Level? = .warning,
        debugFileLevel: Logger.Level? = .debug,
        consoleLevel: Logger.Level? = .info,
        journaldLevel: Logger.Level? = .trace,
        maxBytes: Int = RotatingFileSink.Options.defaultMaxBytes,
        backupCount: Int = RotatingFileSink.Options.defaultBackupCount,
        fileFormat: LineFormat = .defaultFile,
        consoleFormat: LineFormat = .defaultConsole
    ) {
        self.base = base
        self.errorFileLevel = errorFileLevel
        self.debugFileLevel = debugFileLevel
        self.consoleLevel = consoleLevel
        self.journaldLevel = journaldLevel
        self.maxBytes = maxBytes
        self.backupCount = backupCount
        self.fileFormat = fileFormat
        self.consoleFormat = consoleFormat
    }

    /// `<base>_error.log`.
    public var errorFilePath: String { base + "_error.log" }
    /// `<base>_debug.log`.
    public var debugFilePath: String { base + "_debug.log" }

    /// Opens the sinks. Fails (naming the file) when a log file cannot be created.
    public func makeRoutes() throws(SystemError) -> [SinkRoute] {
        var routes: [SinkRoute] = []
        let options = RotatingFileSink.Options(maxBytes: maxBytes, backupCount: backupCount, format: fileFormat)
        if let level = errorFileLevel {
            routes.append(
                SinkRoute(
                    try RotatingFileSink(name: "error-file", path: errorFilePath, options: options), minimumLevel: level
                ))
        }
        if let level = debugFileLevel {
            routes.append(
                SinkRoute(
                    try RotatingFileSink(name: "debug-file", path: debugFilePath, options: options), minimumLevel: level
                ))
        }
        if let level = consoleLevel {
            routes.append(SinkRoute(ConsoleSink(fd: consoleDescriptor, format: consoleFormat), minimumLevel: level))
        }
        if let level = journaldLevel {
            let sink = JournaldSink(
                attributeObjectPID: journaldObjectPID ?? JournaldSink.attributesObjectPIDByDefault,
                backlogCapacity: journaldBacklog
            )
            routes.append(SinkRoute(sink, minimumLevel: level, overflow: journaldOverflow))
        }
        for destination in forward {
            routes.append(
                SinkRoute(
                    try ForwardSink(destination: destination, options: forwardOptions), minimumLevel: forwardLevel))
        }
        return routes
    }
}
