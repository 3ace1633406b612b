import Logging

/// How the collector's destinations name a level: journald's `PRIORITY` and the text files' names.
extension Logger.Level {
    /// The syslog priority journald stores in `PRIORITY` (RFC 5424 severities).
    /// swift-log has two levels below `info`; both are syslog's `debug` (7).
    package var syslogPriority: Int {
        switch self {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The name written in text files, as Python's logging spells it.
    package var displayName: String {
        switch self {
        case .trace: "TRACE"
        case .debug: "DEBUG"
        case .info: "INFO"
        case .notice: "NOTICE"
        case .warning: "WARNING"
        case .error: "ERROR"
        case .critical: "CRITICAL"
        }
    }
}
