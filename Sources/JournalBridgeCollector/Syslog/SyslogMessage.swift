/// A syslog message as parsed: the bytes received and where each part lies in them, so that
/// nothing is lost on the way to journald and nothing is copied on the way to a record.
/// Made by `SyslogParser`; the parts read as bytes (`hostname`, `message`, ...) are copies,
/// for tests and reports: the inputs map `layout` over the bytes they hold
/// (`SyslogRecordMapping.record(layout:bytes:origin:receivedMicros:droppedBytes:)`).
package struct SyslogMessage: Sendable, Equatable {
    package enum Format: String, Sendable {
        /// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`.
        case rfc5424
        /// Everything else with a PRI: `<PRI>Mmm dd hh:mm:ss [host] tag[pid]: msg`, with any part
        /// after the PRI missing (glibc's local form, Python's bare `<PRI>msg`).
        case rfc3164
    }

    /// Where the parts of one message lie in its bytes (offsets into them), and what parsing
    /// made of them. Only structured data is held apart: its values are unescaped.
    package struct Layout: Sendable, Equatable {
        package var format = Format.rfc3164
        /// As sent, or user.notice (13) when the PRI was missing or malformed.
        package var priority = SyslogPriority.missing
        /// The timestamp as sent (nil when absent, or RFC 5424's `-`).
        package var timestamp: Range<Int>?
        /// An RFC 3339 timestamp (RFC 5424's, or one in RFC 3164's place) as microseconds since
        /// the epoch; nil for `Mmm dd hh:mm:ss`, which has neither year nor zone.
        package var timestampMicros: Int64?
        package var hostname: Range<Int>?
        /// RFC 5424 APP-NAME or the RFC 3164 tag: the program's claimed name.
        package var appName: Range<Int>?
        /// RFC 5424 PROCID or the RFC 3164 `[pid]`: a claim, never checked against the sender.
        package var procID: Range<Int>?
        package var msgID: Range<Int>?
        package var structuredData: [SyslogStructuredElement] = []
        /// The MSG (a leading BOM removed), or the whole message (trailing NUL and line ends
        /// removed) when parsing failed.
        package var message = 0..<0
        /// Set when the message did not follow its format; the parts parsed before the failure
        /// are kept, the message is then all of it.
        package var failure: SyslogParseFailure?

        package init() {}
    }

    /// The bytes as received, trailing NUL and line ends included.
    package var raw: [UInt8]
    package var layout: Layout

    package init(raw: [UInt8], layout: Layout) {
        self.raw = raw
        self.layout = layout
    }

    package var format: Format { layout.format }
    package var priority: SyslogPriority { layout.priority }
    package var timestamp: [UInt8]? { layout.timestamp.map { Array(raw[$0]) } }
    package var timestampMicros: Int64? { layout.timestampMicros }
    package var hostname: [UInt8]? { layout.hostname.map { Array(raw[$0]) } }
    package var appName: [UInt8]? { layout.appName.map { Array(raw[$0]) } }
    package var procID: [UInt8]? { layout.procID.map { Array(raw[$0]) } }
    package var msgID: [UInt8]? { layout.msgID.map { Array(raw[$0]) } }
    package var structuredData: [SyslogStructuredElement] { layout.structuredData }
    package var message: [UInt8] { Array(raw[layout.message]) }
    package var failure: SyslogParseFailure? { layout.failure }
}
