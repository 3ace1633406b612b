import JournalBridge
import Logging
import XCTest

final class WireCodecTests: XCTestCase {
    private func bytes(_ frame: Frame) -> [UInt8] {
        var encoder = FrameEncoder()
        encoder.encode(frame)
        return encoder.bytes
    }

    private func decodeAll(_ bytes: [UInt8]) throws -> [Frame] {
        var decoder = FrameDecoder()
        decoder.append(bytes)
        var frames: [Frame] = []
        while let frame = try decoder.nextFrame() { frames.append(frame) }
        return frames
    }

    private func expect(_ code: WireError.Code, _ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try decodeAll(bytes), file: file, line: line) { error in
            XCTAssertEqual((error as? WireError)?.code, code, "\(error)", file: file, line: line)
        }
    }

    private let record = LogRecord(
        level: .error, timestampMicros: 1_795_546_992_345_678, label: "db", message: "multi\nline\u{0}nul ✓",
        file: "Sources/App/Main.swift", function: "run()", line: 42,
        metadata: [MetadataField("request.id", "7"), MetadataField("", "")], sequence: 9,
        origin: .unattributed
    )

    func testEveryFrameRoundTrips() throws {
        let frames: [Frame] = [
            .hello(Hello(session: 0xDEAD_BEEF_0000_0001, identifier: "my app: worker")),
            .welcome(version: 1, acknowledged: 77),
            .batch([record, LogRecord(level: .trace, timestampMicros: -5, message: "", origin: .unattributed)]),
            .ack(UInt64.max),
            .goodbye(reason: "bye"),
        ]
        XCTAssertEqual(try decodeAll(frames.flatMap(bytes)), frames)
    }

    func testFramesSplitAcrossReadsAreReassembled() throws {
        let stream = bytes(.batch([record])) + bytes(.ack(3))
        var decoder = FrameDecoder()
        var frames: [Frame] = []
        for byte in stream {
            decoder.append([byte])
            while let frame = try decoder.nextFrame() { frames.append(frame) }
        }
        XCTAssertEqual(frames, [.batch([record]), .ack(3)])
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    func testEncodedSizeMatchesTheEncoder() {
        var encoder = FrameEncoder()
        encoder.appendRecord(record)
        XCTAssertEqual(encoder.bytes.count, FrameEncoder.encodedSize(of: record))
    }

    /// The message travels byte for byte: invalid UTF-8 is neither repaired nor refused.
    func testInvalidUTF8MessageTravelsAsSent() throws {
        let raw: [UInt8] = [0x61, 0xFF, 0xFE, 0x62, 0xC3, 0x28, 0x00, 0xED, 0xA0, 0x80]
        var sent = LogRecord(level: .info, message: "", sequence: 1, origin: .unattributed)
        raw.withUnsafeBytes { sent.setMessage(bytes: $0) }
        XCTAssertEqual(sent.messageBytes, raw)
        let wire = bytes(.batch([sent]))
        XCTAssertNotNil(
            (0...(wire.count - raw.count)).first { Array(wire[$0..<$0 + raw.count]) == raw }, "raw bytes on the wire")
        guard case .batch(let received)? = try decodeAll(wire).first else { return XCTFail("no batch") }
        XCTAssertEqual(received.first?.messageBytes, raw)
        XCTAssertEqual(received.first?.message, String(decoding: raw, as: UTF8.self))
        var encoder = FrameEncoder()
        encoder.appendRecord(sent)
        XCTAssertEqual(encoder.bytes.count, FrameEncoder.encodedSize(of: sent))

        // So are metadata values.
        var field = MetadataField("k", "")
        raw.withUnsafeBytes { field.setValue(bytes: $0) }
        sent.metadata = [field, MetadataField("valid", "v")]
        guard case .batch(let withMetadata)? = try decodeAll(bytes(.batch([sent]))).first else {
            return XCTFail("no batch")
        }
        XCTAssertEqual(withMetadata.first?.metadata.first?.valueBytes, raw)
        XCTAssertNil(withMetadata.first?.metadata.last?.valueBytes)
        XCTAssertEqual(withMetadata, [sent])
        encoder.removeAll()
        encoder.appendRecord(sent)
        XCTAssertEqual(encoder.bytes.count, FrameEncoder.encodedSize(of: sent))
        // A cut 4-byte sequence is repaired to one U+FFFD of the same length: still told apart.
        var cut = LogRecord(level: .info, message: "", origin: .unattributed)
        ([0xF0, 0x90, 0x80] as [UInt8]).withUnsafeBytes { cut.setMessage(bytes: $0) }
        XCTAssertEqual(cut.messageBytes, [0xF0, 0x90, 0x80] as [UInt8])
        // Valid UTF-8 carries no second copy, and a new message drops the old bytes.
        guard case .batch(let valid)? = try decodeAll(bytes(.batch([record]))).first else { return XCTFail("no batch") }
        XCTAssertNil(valid.first?.messageBytes)
        sent.message = "replaced"
        XCTAssertNil(sent.messageBytes)
    }

    func testZeroLengthFrame() { expect(.emptyFrame, [0, 0, 0, 0]) }

    func testLengthOneByteOverTheLimitIsRejectedBeforeItArrives() {
        let over = UInt32(WireProtocol.maxFrameBytes + 1)
        expect(.frameTooLarge, withUnsafeBytes(of: over.bigEndian, Array.init))
    }

    func testHugeLengthPrefix() { expect(.frameTooLarge, [0xFF, 0xFF, 0xFF, 0xFF, 3]) }

    func testLimitExactlyIsAllowedToArrive() throws {
        var decoder = FrameDecoder()
        decoder.append(withUnsafeBytes(of: UInt32(WireProtocol.maxFrameBytes).bigEndian, Array.init))
        XCTAssertNil(try decoder.nextFrame(), "waits for the body")
    }

    func testUnknownVersionAndBadMagic() {
        var hello = bytes(.hello(Hello(session: 1, identifier: "x")))
        hello[10] = 0x7F  // version high byte
        expect(.unsupportedVersion, hello)
        var magic = bytes(.hello(Hello(session: 1, identifier: "x")))
        magic[5] = UInt8(ascii: "X")
        expect(.badMagic, magic)
    }

    func testUnknownFrameType() { expect(.unknownFrameType, [0, 0, 0, 1, 99]) }

    func testGarbage() {
        // An HTTP request reads as a 1.2 GB length: refused before a byte of it is buffered.
        expect(.frameTooLarge, Array("GET / HTTP/1.1\r\n\r\n".utf8))
        expect(.unknownFrameType, [0, 0, 0, 5, 0xAB, 0xCD, 0xEF, 0x01, 0x23])
        // A batch before anything sensible: a record whose strings claim more than the frame holds.
        expect(.truncated, [0, 0, 0, 6, FrameType.batch.rawValue, 0, 0, 0, 1, 2])
    }

    func testOutOfRangeLevel() {
        var frame = bytes(.batch([record]))
        frame[9] = 7  // the record's level byte, after length(4) type(1) count(4)
        expect(.invalidLevel, frame)
    }

    func testBodyShorterThanItsContents() {
        var frame = bytes(.batch([record]))
        frame.removeLast(3)
        frame[3] -= 3  // length says what is there, the record inside claims more
        expect(.truncated, frame)
    }

    func testTrailingBytesInsideAFrame() {
        var frame = bytes(.ack(1))
        frame.append(0)
        frame[3] += 1
        expect(.trailingBytes, frame)
    }

    func testBatchCountThePayloadCannotHold() {
        var frame = bytes(.batch([record]))
        frame[5...8] = [0, 0, 0x10, 0]  // count 4096 with one record's bytes
        expect(.truncated, frame)
    }

    func testTooManyMetadataFields() {
        var many = record
        many.metadata = (0...WireProtocol.maxMetadataPerRecord).map { MetadataField("k\($0)", "v") }
        expect(.limitExceeded, bytes(.batch([many])))
        many.metadata.removeLast()
        XCTAssertNoThrow(try decodeAll(bytes(.batch([many]))))
    }

    func testFieldOverItsLimit() {
        var big = record
        big.message = String(repeating: "m", count: WireProtocol.maxFieldBytes + 1)
        expect(.limitExceeded, bytes(.batch([big])))
    }

    func testClampingMakesAnyRecordFit() throws {
        var huge = record
        huge.message = String(repeating: "m", count: WireProtocol.maxFrameBytes)
        huge.metadata = (0..<2000).map { MetadataField("k\($0)", String(repeating: "v", count: 10000)) }
        let clamped = huge.clampedToWireLimits()
        XCTAssertLessThan(FrameEncoder.encodedSize(of: clamped), WireProtocol.maxFrameBytes)
        XCTAssertEqual(clamped.metadata.count, WireProtocol.maxMetadataPerRecord)
        XCTAssertTrue(clamped.message.hasSuffix("bytes]"))
        XCTAssertEqual(try decodeAll(bytes(.batch([clamped]))), [.batch([clamped])])
    }
}
