/// RFC 3164 as senders really write it, after the PRI; every part optional, in this order:
/// - `Mmm dd hh:mm:ss ` (glibc, logger, rsyslog; absent from Python's bare `<PRI>msg`), or an
///   RFC 3339 timestamp in its place (rsyslog's `RSYSLOG_ForwardFormat`);
/// - a HOSTNAME, only after a timestamp, told from a tag as rsyslog does: a word of letters,
///   digits, `.`, `_` and `-` that ends in a letter or digit and is followed by a space
///   (`mymachine su: ...` has one, glibc's `su[12]: ...` and `su: ...` have none);
/// - a tag, as journald reads one: the next word when it ends with `:`, `tag[pid]:` giving
///   the claimed pid;
/// - the rest is the message. Nothing here can fail.
enum RFC3164Parser {
    private static let space = UInt8(ascii: " ")

    static func parse(_ bytes: UnsafeRawBufferPointer, from start: Int, into message: inout SyslogMessage.Layout) {
        var index = start
        let rest = UnsafeRawBufferPointer(rebasing: bytes[index...])
        var timestampLength = SyslogTimestamp.lengthOfRFC3164(rest)
        if timestampLength == nil {
            // rsyslog's RSYSLOG_ForwardFormat: the RFC 3164 layout with an RFC 3339 timestamp.
            let tokenEnd = rest.firstIndex(of: space) ?? rest.count
            if tokenEnd >= 20,
                let micros = SyslogTimestamp.parseRFC5424(UnsafeRawBufferPointer(rebasing: rest[0..<tokenEnd]))
            {
                timestampLength = tokenEnd
                message.timestampMicros = micros
            }
        }
        if let length = timestampLength, length == rest.count || rest[length] == space {
            message.timestamp = index..<index + length
            index += min(length + 1, rest.count)
            if let hostEnd = hostnameEnd(bytes, from: index) {
                message.hostname = index..<hostEnd
                index = hostEnd + 1
            }
        }
        // The tag: the word up to the first space must end with `:`.
        var wordEnd = index
        while wordEnd < bytes.count, bytes[wordEnd] != space { wordEnd += 1 }
        if wordEnd - index >= 2, bytes[wordEnd - 1] == UInt8(ascii: ":") {
            var tagEnd = wordEnd - 1
            var pid: Range<Int>?
            if bytes[tagEnd - 1] == UInt8(ascii: "]") {
                var open = tagEnd - 2
                while open >= index, bytes[open] != UInt8(ascii: "[") { open -= 1 }
                if open >= index {
                    pid = open + 1..<tagEnd - 1
                    tagEnd = open
                }
            }
            if tagEnd > index {
                message.appName = index..<tagEnd
                if let pid, !pid.isEmpty { message.procID = pid }
                index = min(wordEnd + 1, bytes.count)
            }
        }
        message.message = index..<bytes.count
    }

    /// The end of a HOSTNAME starting at `start`, or nil when the next word is not one.
    private static func hostnameEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var end = start
        while end < bytes.count, end - start < 255 {
            let byte = bytes[end]
            let isAlnum =
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            guard isAlnum || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") else {
                break
            }
            end += 1
        }
        guard end > start, end < bytes.count, bytes[end] == space else { return nil }
        let last = bytes[end - 1]
        guard last != UInt8(ascii: "."), last != UInt8(ascii: "_"), last != UInt8(ascii: "-") else { return nil }
        return end
    }
}
