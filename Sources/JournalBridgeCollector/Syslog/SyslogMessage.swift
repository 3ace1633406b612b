/// A syslog message as parsed: every part as the bytes sent (header fields, structured data,
/// message), so nothing is lost on the way to journald. Made by `SyslogParser`.
package struct SyslogMessage: Sendable, Equatable {
    package enum Format: String, Sendable {
        /// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`.
        case rfc5424
        /// Everything else with a PRI: `<PRI>Mmm dd hh:mm:ss [host] tag[pid]: msg`, with any part
        /// after the PRI missing (glibc's local form, Python's bare `<PRI>msg`).
        case rfc3164
    }

    package var format: Format
    /// As sent, or user.notice (13) when the PRI was missing or malformed.
    package var priority: SyslogPriority
    /// The timestamp as sent (nil when absent, or RFC 5424's `-`).
    package var timestamp: [UInt8]?
    /// An RFC 3339 timestamp (RFC 5424's, or one in RFC 3164's place) as microseconds since
    /// the epoch; nil for `Mmm dd hh:mm:ss`, which has neither year nor zone.
    package var timestampMicros: Int64?
    package var hostname: [UInt8]?
    /// RFC 5424 APP-NAME or the RFC 3164 tag: the program's claimed name.
    package var appName: [UInt8]?
    /// RFC 5424 PROCID or the RFC 3164 `[pid]`: a claim, never checked against the sender.
    package var procID: [UInt8]?
    package var msgID: [UInt8]?
    package var structuredData: [SyslogStructuredElement]
    /// The MSG (a leading BOM removed), or the whole message as received when parsing failed.
    package var message: [UInt8]
    /// The bytes as received, trailing NUL and line ends included.
    package var raw: [UInt8]
    /// Set when the message did not follow its format; the parts parsed before the failure
    /// are kept, the message is then `raw`.
    package var failure: SyslogParseFailure?

    package init(
        format: Format, priority: SyslogPriority, raw: [UInt8], message: [UInt8] = [], timestamp: [UInt8]? = nil,
        timestampMicros: Int64? = nil, hostname: [UInt8]? = nil, appName: [UInt8]? = nil, procID: [UInt8]? = nil,
        msgID: [UInt8]? = nil, structuredData: [SyslogStructuredElement] = [], failure: SyslogParseFailure? = nil
    ) {
        self.format = format
        self.priority = priority
        self.raw = raw
        self.message = message
        self.timestamp = timestamp
        self.timestampMicros = timestampMicros
        self.hostname = hostname
        self.appName = appName
        self.procID = procID
        self.msgID = msgID
        self.structuredData = structuredData
        self.failure = failure
    }
}
