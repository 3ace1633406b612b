/// RFC 5424 section 6 after `<PRI>1 `:
/// `TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]`.
/// Strict where the RFC is (field lengths, printable US-ASCII in the header, SD syntax), so that a
/// message it accepts means what it says; what it refuses is stored whole, as its bytes.
enum RFC5424Parser {
    private static let space = UInt8(ascii: " ")
    private static let nilValue = UInt8(ascii: "-")
    /// The longest HOSTNAME, APP-NAME, PROCID and MSGID, in that order.
    private static let headerLimits = [255, 48, 128, 32]

    static func parse(_ bytes: UnsafeRawBufferPointer, from start: Int, into message: inout SyslogMessage.Layout) {
        var index = start
        // TIMESTAMP
        guard let timestamp = headerToken(bytes, &index, maximumLength: 64) else {
            return fail(index >= bytes.count ? .truncatedHeader : .invalidTimestamp, at: start, &message)
        }
        if !isNil(bytes, timestamp) {
            guard let micros = SyslogTimestamp.parseRFC5424(UnsafeRawBufferPointer(rebasing: bytes[timestamp])) else {
                return fail(.invalidTimestamp, at: timestamp.lowerBound, &message)
            }
            message.timestamp = timestamp
            message.timestampMicros = micros
        }
        // HOSTNAME, APP-NAME, PROCID, MSGID: NILVALUE or 1*N PRINTUSASCII.
        for (field, limit) in headerLimits.enumerated() {
            let fieldStart = index
            guard let token = headerToken(bytes, &index, maximumLength: limit) else {
                return fail(index >= bytes.count ? .truncatedHeader : .invalidHeaderField, at: fieldStart, &message)
            }
            let value = isNil(bytes, token) ? nil : token
            switch field {
            case 0: message.hostname = value
            case 1: message.appName = value
            case 2: message.procID = value
            default: message.msgID = value
            }
        }
        // STRUCTURED-DATA
        guard index < bytes.count else { return fail(.truncatedHeader, at: index, &message) }
        if bytes[index] == nilValue {
            index += 1
        } else {
            while index < bytes.count, bytes[index] == UInt8(ascii: "[") {
                guard let element = structuredElement(bytes, &index) else {
                    return fail(.invalidStructuredData, at: index, &message)
                }
                message.structuredData.append(element)
            }
            if message.structuredData.isEmpty { return fail(.invalidStructuredData, at: index, &message) }
        }
        // [SP MSG]
        if index == bytes.count { return }
        guard bytes[index] == space else { return fail(.invalidStructuredData, at: index, &message) }
        index += 1
        // MSG-UTF8 starts with a BOM: it says the rest is UTF-8, and is no part of the text.
        if bytes.count - index >= 3, bytes[index] == 0xEF, bytes[index + 1] == 0xBB, bytes[index + 2] == 0xBF {
            index += 3
        }
        message.message = index..<bytes.count
    }

    private static func fail(_ code: SyslogParseFailure.Code, at offset: Int, _ message: inout SyslogMessage.Layout) {
        message.failure = SyslogParseFailure(code, at: offset)
    }

    private static func isNil(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        range.count == 1 && bytes[range.lowerBound] == nilValue
    }

    private static func isPrintASCII(_ byte: UInt8) -> Bool { byte >= 33 && byte <= 126 }

    /// A header field and the SP after it: the field's range, `index` moved past the SP; nil
    /// when the field is empty, too long, holds a byte outside PRINTUSASCII or no SP follows.
    private static func headerToken(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, maximumLength: Int) -> Range<
        Int
    >? {
        let start = index
        var end = start
        while end < bytes.count, bytes[end] != space {
            guard isPrintASCII(bytes[end]), end - start < maximumLength else {
                index = end
                return nil
            }
            end += 1
        }
        guard end > start, end < bytes.count else {
            index = end
            return nil
        }
        index = end + 1
        return start..<end
    }

    /// SD-NAME: 1*32 PRINTUSASCII except `=`, SP, `]` and `"`.
    private static func sdName(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> String? {
        let start = index
        while index < bytes.count, isPrintASCII(bytes[index]), bytes[index] != UInt8(ascii: "="),
            bytes[index] != UInt8(ascii: "]"), bytes[index] != UInt8(ascii: "\"")
        {
            index += 1
            if index - start > 32 { return nil }
        }
        guard index > start else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    /// `[SD-ID *(SP PARAM-NAME="PARAM-VALUE")]`, `index` at the `[`; the value unescaped:
    /// `\"`, `\\` and `\]` stand for the character, a backslash before anything else is kept.
    private static func structuredElement(_ bytes: UnsafeRawBufferPointer, _ index: inout Int)
        -> SyslogStructuredElement?
    {
        index += 1
        guard let id = sdName(bytes, &index) else { return nil }
        var element = SyslogStructuredElement(id: id, parameters: [])
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return element
            }
            guard bytes[index] == space else { return nil }
            index += 1
            guard let name = sdName(bytes, &index), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "="),
                bytes[index + 1] == UInt8(ascii: "\"")
            else { return nil }
            index += 2
            var value: [UInt8] = []
            var closed = false
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    closed = true
                    index += 1
                    break
                }
                if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                    let next = bytes[index + 1]
                    if next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") || next == UInt8(ascii: "]") {
                        value.append(next)
                        index += 2
                        continue
                    }
                }
                value.append(byte)
                index += 1
            }
            guard closed else { return nil }
            element.parameters.append(.init(name: name, value: value))
        }
        return nil
    }
}
