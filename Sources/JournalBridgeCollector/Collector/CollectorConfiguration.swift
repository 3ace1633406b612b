#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// Where a `Collector` listens and the limits it keeps.
public struct CollectorConfiguration: Sendable {
    /// Where to listen (bound by the collector unless `listeningDescriptor` is given).
    public var socketPath: String
    /// A socket already listening (systemd socket activation); the collector neither binds nor unlinks it.
    public var listeningDescriptor: Int32?
    /// Permissions and group of a socket the collector binds itself.
    public var socketMode: mode_t
    /// Group of a socket the collector binds itself; nil: the process's group.
    public var socketGroup: gid_t?
    /// Records each sink's queue holds before the collector stops reading (backpressure).
    public var sinkQueueCapacity: Int
    /// Connections beyond this are accepted and closed at once, with a logged reason.
    public var maxConnections: Int
    /// Bytes read from one connection per turn: the unit of fairness between clients.
    public var readChunkBytes: Int
    /// `SYSLOG_IDENTIFIER` for clients whose hello names none.
    public var defaultIdentifier: String
    /// Seconds over which the collector's warnings about one client are aggregated: the
    /// first is logged in full, the rest counted and summarised at the end (0: all in full).
    public var diagnosticsInterval: Double = 10
    /// Fair share per source (off unless `burst` > 0): applied before the sinks.
    package var rateLimit = RateLimit()
    /// Syslog listeners started beside the bridge's socket (none by default).
    package var syslogInputs: [SyslogInputSettings] = []

    /// Bytes the collector may hold for all clients together: half for unfinished frames,
    /// half for records waiting in the sink queues. Past it the collector stops reading
    /// (a connection waits for its frame's share; routing waits for the sinks).
    public var memoryLimit: Int

    /// 256 MiB: a quarter of a 1 GiB VM. Half of it holds 16 maximum-size (8 MiB) frames
    /// arriving at once, far more than shippers' 64 KiB batches need; the other half holds
    /// 128 MiB of queued records: 16,384 of 8 KiB each, while typical records are a few
    /// hundred bytes, so normally the queues' record count binds first.
    public static let defaultMemoryLimit = 256 * 1024 * 1024

    /// The defaults of the collector's settings, here and nowhere else (the daemon's
    /// configuration starts from them).
    public enum Defaults {
        /// Owner and group may connect, others not: a socket others may use lets any local user
        /// write records in the service's name. Give workers the group, or widen it deliberately.
        public static let socketMode: mode_t = 0o660
        /// Records each sink's queue holds before its route's overflow policy applies.
        public static let sinkQueueCapacity = 16384
        /// Connections open at once.
        public static let maxConnections = 4096
        /// Bytes read from one connection per turn.
        public static let readChunkBytes = 64 * 1024
        /// `SYSLOG_IDENTIFIER` of a client whose hello names none.
        public static let identifier = "unknown"
    }

    /// A configuration for the socket at `socketPath`; every limit has its default.
    public init(
        socketPath: String,
        listeningDescriptor: Int32? = nil,
        socketMode: mode_t = Defaults.socketMode,
        socketGroup: gid_t? = nil,
        sinkQueueCapacity: Int = Defaults.sinkQueueCapacity,
        maxConnections: Int = Defaults.maxConnections,
        readChunkBytes: Int = Defaults.readChunkBytes,
        defaultIdentifier: String = Defaults.identifier,
        memoryLimit: Int = CollectorConfiguration.defaultMemoryLimit
    ) {
        self.memoryLimit = memoryLimit
        self.defaultIdentifier = defaultIdentifier
        self.socketPath = socketPath
        self.listeningDescriptor = listeningDescriptor
        self.socketMode = socketMode
        self.socketGroup = socketGroup
        self.sinkQueueCapacity = sinkQueueCapacity
        self.maxConnections = maxConnections
        self.readChunkBytes = readChunkBytes
    }
}
