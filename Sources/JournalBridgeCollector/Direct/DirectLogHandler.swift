import JournalBridge
import Logging

/// Direct mode (the Python pattern's `config_log`, without the queue): a swift-log handler that writes straight to
/// the sinks in this process, with no collector. The handler is a cheap value; the
/// sinks live in the shared `Router`.
///
///     let router = Router(routes: try SinkConfiguration(base: "/var/log/app/app").makeRoutes())
///     LoggingSystem.bootstrap { DirectLogHandler(label: $0, router: router) }
public struct DirectLogHandler: LogHandler {
    public let label: String
    public let router: Router
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .debug
    /// `SYSLOG_IDENTIFIER`; the program name unless set.
    public var identifier: String {
        get { origin.identifier }
        set { origin.identifier = newValue }
    }
    /// This process, looked up once: getpid() and friends are system calls.
    private var origin: Origin

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

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = MetadataMerge.merged(base: metadata, provider: metadataProvider, explicit: event.metadata, error: event.error)
        // The same limits as through a collector, cut the same way, so both modes keep the same bytes.
        router.route([LogRecord(event: event, label: label, origin: origin, metadata: merged).clampedToWireLimits()])
    }
}
