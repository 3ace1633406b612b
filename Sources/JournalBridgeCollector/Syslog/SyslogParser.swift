/// Parses one syslog message (a datagram, or a frame from `SyslogFramer`), telling RFC 5424
/// from RFC 3164 per message as rsyslog does: `<PRI>1 ` starts RFC 5424, anything else with a
/// PRI is RFC 3164. Never fails: a malformed message comes back with `failure` set and its
/// bytes as the message, so that it is stored all the same.
package enum SyslogParser {
    package static func parse(_ bytes: [UInt8]) -> SyslogMessage {
        bytes.withUnsafeBytes { parse($0) }
    }

    package static func parse(_ raw: UnsafeRawBufferPointer) -> SyslogMessage {
        // Python's SysLogHandler ends each message with a NUL, logger and most stream senders
        // with a LF (a CR before it from some): none of it is the message.
        var end = raw.count
        while end > 0, raw[end - 1] == 0 || raw[end - 1] == UInt8(ascii: "\n") || raw[end - 1] == UInt8(ascii: "\r") {
            end -= 1
        }
        let content = UnsafeRawBufferPointer(rebasing: raw[0..<end])
        var message = SyslogMessage(format: .rfc3164, priority: .missing, raw: Array(raw))
        guard !content.isEmpty else {
            message.failure = SyslogParseFailure(.empty, at: 0)
            return message
        }
        guard content[0] == UInt8(ascii: "<") else {
            // RFC 3164 section 4.3.3: a relay gives a message without PRI user.notice and keeps it whole.
            message.failure = SyslogParseFailure(.missingPriority, at: 0)
            message.message = Array(content)
            return message
        }
        guard let (priority, afterPriority) = SyslogPriority.parse(content) else {
            message.failure = SyslogParseFailure(.invalidPriority, at: 0)
            message.message = Array(content)
            return message
        }
        message.priority = priority
        let isRFC5424 =
            content.count >= afterPriority + 2 && content[afterPriority] == UInt8(ascii: "1")
            && content[afterPriority + 1] == UInt8(ascii: " ")
        if isRFC5424 {
            message.format = .rfc5424
            RFC5424Parser.parse(content, from: afterPriority + 2, into: &message)
        } else {
            RFC3164Parser.parse(content, from: afterPriority, into: &message)
        }
        if message.failure != nil { message.message = Array(content) }
        return message
    }
}
