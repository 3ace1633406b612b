/// Parses one syslog message (a datagram, or a frame from `SyslogFramer`), telling RFC 5424
/// from RFC 3164 per message as rsyslog does: `<PRI>1 ` starts RFC 5424, anything else with a
/// PRI is RFC 3164. Never fails: a malformed message comes back with `failure` set and its
/// bytes as the message, so that it is stored all the same.
package enum SyslogParser {
    package static func parse(_ bytes: [UInt8]) -> SyslogMessage {
        SyslogMessage(raw: bytes, layout: bytes.withUnsafeBytes { layout(of: $0) })
    }

    package static func parse(_ raw: UnsafeRawBufferPointer) -> SyslogMessage {
        SyslogMessage(raw: Array(raw), layout: layout(of: raw))
    }

    /// Where the parts of the message in `raw` lie: the parse itself, copying nothing.
    package static func layout(of raw: UnsafeRawBufferPointer) -> SyslogMessage.Layout {
        // Python's SysLogHandler ends each message with a NUL, logger and most stream senders
        // with a LF (a CR before it from some): none of it is the message.
        var end = raw.count
        while end > 0, raw[end - 1] == 0 || raw[end - 1] == UInt8(ascii: "\n") || raw[end - 1] == UInt8(ascii: "\r") {
            end -= 1
        }
        // The parts are found in `content`, a prefix of `raw`: their offsets hold in both.
        let content = UnsafeRawBufferPointer(rebasing: raw[0..<end])
        var layout = SyslogMessage.Layout()
        guard !content.isEmpty else {
            layout.failure = SyslogParseFailure(.empty, at: 0)
            return layout
        }
        guard content[0] == UInt8(ascii: "<") else {
            // RFC 3164 section 4.3.3: a relay gives a message without PRI user.notice and keeps it whole.
            layout.failure = SyslogParseFailure(.missingPriority, at: 0)
            layout.message = 0..<end
            return layout
        }
        guard let (priority, afterPriority) = SyslogPriority.parse(content) else {
            layout.failure = SyslogParseFailure(.invalidPriority, at: 0)
            layout.message = 0..<end
            return layout
        }
        layout.priority = priority
        let isRFC5424 =
            content.count >= afterPriority + 2 && content[afterPriority] == UInt8(ascii: "1")
            && content[afterPriority + 1] == UInt8(ascii: " ")
        if isRFC5424 {
            layout.format = .rfc5424
            RFC5424Parser.parse(content, from: afterPriority + 2, into: &layout)
        } else {
            RFC3164Parser.parse(content, from: afterPriority, into: &layout)
        }
        if layout.failure != nil { layout.message = 0..<end }
        return layout
    }
}
