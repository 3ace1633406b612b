#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Logging

/// Who the collector is in its own diagnostics (a client it closed, a sink that failed, journald
/// that came back): records of its own, sent through the same sinks. The one definition.
enum CollectorIdentity {
    /// `SYSLOG_IDENTIFIER` of the collector's own records (`journalctl -t journal-bridge`).
    static let identifier = "journal-bridge"
    /// The logger label of the collector's own records.
    static let label = "journal-bridge.collector"

    /// This process, as the origin of the collector's records.
    static var origin: Origin { Origin(pid: getpid(), uid: getuid(), gid: getgid(), identifier: identifier) }

    /// A record of the collector's own.
    static func record(_ level: Logger.Level, _ message: String, metadata: [MetadataField] = []) -> LogRecord {
        LogRecord(level: level, label: label, message: message, metadata: metadata, origin: origin)
    }
}
