/// Why a syslog message could not be parsed as its format says. The message is still
/// stored (its bytes as `MESSAGE` and `SYSLOG_RAW`); the input counts the failure by `code`.
package struct SyslogParseFailure: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Code: String, Sendable, CaseIterable {
        case missingPriority = "no <PRI> at the start"
        case invalidPriority = "malformed <PRI> (digits 0 to 191 between < and >)"
        case invalidTimestamp = "malformed RFC 5424 TIMESTAMP"
        case invalidHeaderField = "malformed RFC 5424 header field (HOSTNAME, APP-NAME, PROCID or MSGID)"
        case invalidStructuredData = "malformed RFC 5424 STRUCTURED-DATA"
        case truncatedHeader = "RFC 5424 header cut short"
        case empty = "empty message"
    }

    package var code: Code
    /// Where in the message the parser gave up (a byte offset), for the report.
    package var offset: Int

    package init(_ code: Code, at offset: Int) {
        self.code = code
        self.offset = offset
    }

    package var description: String { "\(code.rawValue) at byte \(offset)" }
}
