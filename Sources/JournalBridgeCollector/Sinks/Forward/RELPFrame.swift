import NIOCore

/// One RELP frame: `TXNR SP COMMAND SP DATALEN [SP DATA] LF` (rsyslog's RELP
/// specification). The sink sends `open`, `syslog` and `close`, and reads `rsp` and
/// `serverclose` from a receiver it does not trust: numbers, command and length are
/// bounded, anything else is a protocol error that closes the connection.
package struct RELPFrame: Sendable, Equatable {
    package var txnr: Int
    package var command: String
    package var data: [UInt8]

    package init(txnr: Int, command: String, data: [UInt8] = []) {
        self.txnr = txnr
        self.command = command
        self.data = data
    }

    /// Transaction numbers run 1 ... 999,999,999 and wrap to 1; 0 is the server's own
    /// (`serverclose`).
    package static let maximumTxnr = 999_999_999
    /// The largest frame the sink reads: a response is a status line and a few offers.
    package static let maximumInboundData = 64 * 1024

    package static func next(after txnr: Int) -> Int { txnr >= maximumTxnr ? 1 : txnr + 1 }

    /// Appends the frame to `out`.
    package static func encode(
        txnr: Int, command: StaticString, data: UnsafeRawBufferPointer, into out: inout ByteBuffer
    ) {
        writeDecimal(txnr, into: &out)
        out.writeInteger(UInt8(ascii: " "))
        out.writeStaticString(command)
        out.writeInteger(UInt8(ascii: " "))
        writeDecimal(data.count, into: &out)
        if data.count > 0 {
            out.writeInteger(UInt8(ascii: " "))
            out.writeBytes(data)
        }
        out.writeInteger(UInt8(ascii: "\n"))
    }

    /// A non-negative number in decimal digits, without a String on the way (per message).
    package static func writeDecimal(_ value: Int, into out: inout ByteBuffer) {
        DecimalDigits.withDigits(UInt64(max(0, value))) { out.writeBytes($0) }
    }

    /// What the receiver sent that is not RELP.
    package struct ProtocolError: Error, Sendable, CustomStringConvertible {
        package var description: String
    }

    /// Reads one frame from the front of `buffer`; nil (and nothing consumed) while it is incomplete.
    package static func decode(_ buffer: inout ByteBuffer) throws(ProtocolError) -> RELPFrame? {
        let view = buffer.readableBytesView
        var index = view.startIndex
        func number(maximumDigits: Int) throws(ProtocolError) -> Int? {
            var value = 0
            var digits = 0
            while index < view.endIndex {
                let byte = view[index]
                if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
                    guard digits > 0 else { throw ProtocolError(description: "expected a number") }
                    return value
                }
                guard byte >= 48, byte <= 57, digits < maximumDigits else {
                    throw ProtocolError(description: "bad number in a frame header")
                }
                value = value * 10 + Int(byte - 48)
                digits += 1
                index += 1
            }
            return nil
        }
        guard let txnr = try number(maximumDigits: 9) else { return nil }
        guard view[index] == UInt8(ascii: " ") else {
            throw ProtocolError(description: "frame header ends after the transaction number")
        }
        index += 1
        let commandStart = index
        while index < view.endIndex, view[index] != UInt8(ascii: " ") {
            let byte = view[index]
            guard (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90), index - commandStart < 32 else {
                throw ProtocolError(description: "bad command in a frame header")
            }
            index += 1
        }
        guard index < view.endIndex else { return nil }
        let command = String(decoding: view[commandStart..<index], as: UTF8.self)
        index += 1
        guard let length = try number(maximumDigits: 9) else { return nil }
        guard length <= maximumInboundData else {
            throw ProtocolError(description: "a \(length)-byte frame from the receiver (at most \(maximumInboundData))")
        }
        var data: [UInt8] = []
        if view[index] == UInt8(ascii: " ") {
            index += 1
            guard view.endIndex - index >= length + 1 else { return nil }
            data = Array(view[index..<(index + length)])
            index += length
        } else if length != 0 {
            throw ProtocolError(description: "a frame announces \(length) bytes and has none")
        }
        guard index < view.endIndex else { return nil }
        guard view[index] == UInt8(ascii: "\n") else { throw ProtocolError(description: "a frame does not end in LF") }
        index += 1
        buffer.moveReaderIndex(forwardBy: index - view.startIndex)
        return RELPFrame(txnr: txnr, command: command, data: data)
    }
}
