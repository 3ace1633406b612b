import JournalBridge
import XCTest

/// `LogRecord.clampedToWireLimits`: what the worker side does to a record that breaks a limit
/// of the protocol, so that the collector never refuses what a swift-log caller passed.
final class WireLimitsTests: XCTestCase {
    /// Splits a cut string into what was kept and the N its note states.
    private func kept(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> (kept: Int, cut: Int)? {
        // The note is short and last: look only at the end (the strings are megabytes).
        let tail = String(decoding: text.utf8.suffix(64), as: UTF8.self)
        guard let range = tail.range(of: "…[truncated ", options: .backwards), tail.hasSuffix(" bytes]"),
            let cut = Int(tail[range.upperBound...].dropLast(" bytes]".count))
        else {
            XCTFail("no truncation note at the end of \(text.prefix(40))…\(text.suffix(40))", file: file, line: line)
            return nil
        }
        return (text.utf8.count - tail[range.lowerBound...].utf8.count, cut)
    }

    private func decodeOne(_ record: LogRecord) throws -> LogRecord? {
        var encoder = FrameEncoder()
        encoder.encode(.batch([record]))
        var decoder = FrameDecoder()
        decoder.append(encoder.bytes)
        guard case .batch(let records)? = try decoder.nextFrame() else { return nil }
        return records.first
    }

    func testTheTruncationNoteStatesExactlyTheBytesCut() throws {
        let size = 64 * 1024 * 1024
        let record = LogRecord(level: .info, message: String(repeating: "m", count: size), origin: .unattributed)
        let clamped = record.clampedToWireLimits()
        XCTAssertLessThanOrEqual(clamped.message.utf8.count, WireProtocol.maxFieldBytes)
        XCTAssertGreaterThan(clamped.message.utf8.count, WireProtocol.maxFieldBytes - 4, "cut no more than it must")
        let (kept, cut) = try XCTUnwrap(kept(clamped.message))
        XCTAssertEqual(kept + cut, size, "kept \(kept) + stated \(cut) must be the original's \(size) bytes")
        XCTAssertTrue(clamped.message.utf8.prefix(kept).allSatisfy { $0 == UInt8(ascii: "m") })
        XCTAssertEqual(try decodeOne(clamped)?.message, clamped.message)
    }

    func testACutFallsBetweenCharactersAndItsCountStaysExact() throws {
        for character in ["é", "€", "😀", "a"] {
            let original = String(repeating: character, count: 997)
            for limit in 30...80 {
                let cut = WireLimits.truncated(original, toBytes: limit)
                XCTAssertLessThanOrEqual(cut.utf8.count, limit)
                let (keptBytes, stated) = try XCTUnwrap(kept(cut))
                XCTAssertEqual(keptBytes + stated, original.utf8.count, "\(character) at \(limit)")
                XCTAssertTrue(original.utf8.starts(with: cut.utf8.prefix(keptBytes)), "a prefix of the original")
                XCTAssertEqual(keptBytes % character.utf8.count, 0, "whole characters only")
            }
        }
        XCTAssertEqual(WireLimits.truncated("short", toBytes: 5), "short")
        XCTAssertEqual(WireLimits.truncated("too long", toBytes: 3), "too", "no room for a note: the bare prefix")
    }

    func testSeventyThousandMetadataEntriesAreClampedWithACountOfWhatWasDropped() throws {
        let fields = (0..<70_000).map { MetadataField(String(format: "k%05d", $0), "v\($0)") }
        let record = LogRecord(level: .info, message: "many", metadata: fields, origin: .unattributed)
        XCTAssertNil(record.encodedSizeWithinWireLimits)
        let clamped = record.clampedToWireLimits()
        XCTAssertEqual(clamped.metadata.count, WireProtocol.maxMetadataPerRecord)
        XCTAssertEqual(Array(clamped.metadata.dropLast()), Array(fields.prefix(WireProtocol.maxMetadataPerRecord - 1)))
        XCTAssertEqual(clamped.metadata.last, MetadataField(LogRecord.droppedMetadataKey, String(70_000 - 999)))
        XCTAssertNotNil(clamped.encodedSizeWithinWireLimits)
        XCTAssertEqual(try decodeOne(clamped), clamped)
    }

    func testTheEncoderNeverTrapsOnACountItsFieldCannotHold() {
        // 70,000 entries: a u16 count cannot say it. The encoder writes the first 65,535 (a
        // frame the collector refuses with a reason) instead of taking the process down.
        let record = LogRecord(
            level: .info, message: "x", metadata: (0..<70_000).map { MetadataField("k\($0)", "") },
            origin: .unattributed
        )
        var encoder = FrameEncoder()
        encoder.encode(.batch([record]))
        XCTAssertEqual(encoder.bytes.count - 9, FrameEncoder.encodedSize(of: record))
        var decoder = FrameDecoder()
        decoder.append(encoder.bytes)
        XCTAssertThrowsError(try decoder.nextFrame()) { error in
            XCTAssertEqual((error as? WireError)?.code, .limitExceeded)
            XCTAssertTrue("\(error)".contains("65535 metadata fields"), "\(error)")
        }
    }

    func testEverythingHugeAtOnceFitsOneFrameAndEveryCutIsStated() throws {
        let huge = String(repeating: "s", count: 3 * 1024 * 1024)
        let record = LogRecord(
            level: .info, label: huge, message: huge, file: huge, function: huge,
            metadata: (0..<1200).map {
                MetadataField(String(repeating: "k", count: 2000) + "\($0)", String(repeating: "v", count: 100_000))
            },
            origin: .unattributed
        )
        let clamped = record.clampedToWireLimits()
        let size = try XCTUnwrap(clamped.encodedSizeWithinWireLimits, "within every limit")
        XCTAssertLessThanOrEqual(size + 5, WireProtocol.maxFrameBytes)
        XCTAssertEqual(clamped.metadata.count, WireProtocol.maxMetadataPerRecord)
        XCTAssertEqual(clamped.metadata.last?.value, "201")
        for text in [
            clamped.label, clamped.message, clamped.file, clamped.function, clamped.metadata[0].key,
            clamped.metadata[0].value,
        ] {
            let (keptBytes, stated) = try XCTUnwrap(kept(text))
            XCTAssertEqual(
                keptBytes + stated,
                text == clamped.metadata[0].key ? 2001 : text == clamped.metadata[0].value ? 100_000 : huge.utf8.count)
        }
        XCTAssertGreaterThan(
            clamped.message.utf8.count, WireProtocol.maxFieldBytes - 4, "the message is not cut for the others")
        XCTAssertEqual(try decodeOne(clamped), clamped)
    }

    func testARecordWithinTheLimitsIsLeftAlone() {
        let record = LogRecord(
            level: .info, label: "l", message: String(repeating: "m", count: WireProtocol.maxFieldBytes),
            metadata: (0..<WireProtocol.maxMetadataPerRecord).map { MetadataField("k\($0)", "v") },
            origin: .unattributed
        )
        XCTAssertEqual(record.encodedSizeWithinWireLimits, FrameEncoder.encodedSize(of: record))
        XCTAssertEqual(record.clampedToWireLimits(), record)
    }
}
