import JournalBridge
import Logging

/// Direct mode (the Python pattern's `config_log`, without the queue): a swift-log handler that writes straight to
/// the sinks in this process, with no collector. The handler is a cheap value; the
/// sinks live in the shared `Router`.
///
///     let router = Router(routes: try SinkConfiguration(base: "/var/log/app/app").makeRoutes())
///     LoggingSystem.bootstrap { DirectLogHandler(label: $0, router: router) }
public struct DirectLogHandler: LogHandler {
    /// The logger's label, carried by every record.
    public let label: String
    /// The router (and so the sinks) every handler of the process shares.
    public let router: Router
    /// The logger's own metadata, merged under the call's.
    public var metadata: Logger.Metadata = [:]
    /// Metadata read from the caller's context at each `log` call.
    public var metadataProvider: Logger.MetadataProvider?
    /// The lowest level this handler writes; `.debug` unless set.
    public var logLevel: Logger.Level = .debug
    /// `SYSLOG_IDENTIFIER`; the program name unless set.
    public var identifier: String {
        get { origin.identifier }
        set { origin.identifier = newValue }
    }
    /// This process, looked up once: getpid() and friends are system calls.
    private var origin: Origin

    /// A handler for the logger `label` that writes through `router`, as `identifier`.
    public init(
        label: String, router: Router, identifier: String = ProgramName.current,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        self.label = label
        self.router = router
        self.origin = Origin.thisProcess
        self.metadataProvider = metadataProvider
        self.identifier = identifier
    }

    /// The logger's metadata value for `key`.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Routes the record to the sinks in this thread; a sink behind a queue only enqueues it.
    public func log(event: LogEvent) {
        let merged = MetadataMerge.merged(
            base: metadata, provider: metadataProvider, explicit: event.metadata, error: event.error)
        // The same limits as through a collector, cut the same way, so both modes keep the same bytes.
        router.route([LogRecord(event: event, label: label, origin: origin, metadata: merged).clampedToWireLimits()])
    }
}
