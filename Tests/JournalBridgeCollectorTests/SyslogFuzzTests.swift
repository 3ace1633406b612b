import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import XCTest

/// Generator-based fuzzing of the syslog framer and parsers, like the frame decoder's:
/// the corpus in Tests/Corpus/syslog (RFC examples, real clients' bytes, malformed input),
/// mutated and random, each input parsed as a datagram and fed as a stream in random chunks
/// through the framer. None may crash; every datagram and every frame becomes a record; the
/// framer never holds more than its limit and frames alike however the bytes are chunked.
/// `JB_FUZZ_ITERATIONS` sets the count (default 100,000; the full run: 1,000,000), `JB_FUZZ_START` the start.
final class SyslogFuzzTests: XCTestCase {
    private var corpus: [[UInt8]] = []

    private static let specialBytes: [UInt8] =
        Array("<>[]\"\\= -:0123456789\n\r\u{0}".utf8) + [0xEF, 0xBB, 0xBF, 0xFF, 0xC3]

    /// The shared mutations (`ByteMutator`) and syslog's own: octet counts at their edges, syntax bytes.
    private func mutate(_ start: [UInt8], _ g: inout SplitMix64) -> [UInt8] {
        ByteMutator(corpus: corpus, special: [Self.octetCountAtAnEdge, Self.syntaxByte]).mutate(start, &g)
    }

    /// An octet count at an edge, inserted anywhere.
    private static func octetCountAtAnEdge(_ bytes: inout [UInt8], _ g: inout SplitMix64) {
        let edges = [
            0, 1, 5, bytes.count, bytes.count + 1, 255, 256, 65535, 65536, 65537, 9_999_999_999, 99_999_999_999,
        ]
        let at = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &g)
        bytes.insert(contentsOf: Array("\(edges.randomElement(using: &g)!) ".utf8), at: at)
    }

    /// A syntax byte inserted or overwritten.
    private static func syntaxByte(_ bytes: inout [UInt8], _ g: inout SplitMix64) {
        let byte = specialBytes.randomElement(using: &g)!
        if !bytes.isEmpty && Bool.random(using: &g) {
            bytes[Int.random(in: 0..<bytes.count, using: &g)] = byte
        } else {
            bytes.insert(byte, at: bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &g))
        }
    }

    private let origin = Origin(pid: 1, uid: 0, gid: 0, identifier: "fuzz")

    /// Parses one message and maps it; checks what must hold of every record.
    private func record(_ bytes: [UInt8], droppedBytes: Int = 0) -> (LogRecord, SyslogMessage) {
        let message = SyslogParser.parse(bytes)
        let record = SyslogRecordMapping.record(
            from: message, origin: origin, receivedMicros: 1, droppedBytes: droppedBytes)
        XCTAssertEqual(message.raw, bytes)
        XCTAssertLessThanOrEqual(message.message.count, bytes.count)
        XCTAssertEqual(record.syslogFields.first?.key, "PRIORITY")
        XCTAssertEqual(record.syslogFields.first?.value, String(message.priority.severity))
        XCTAssertTrue(record.syslogFields.allSatisfy { FieldName.isValid($0.key) })
        if message.failure != nil {
            XCTAssertEqual(record.syslogFields.first { $0.key == "SYSLOG_RAW" }?.valueByteCount, bytes.count)
        }
        return (record, message)
    }

    private func frames(_ input: [UInt8], maximum: Int, chunks g: inout SplitMix64?) -> (
        [SyslogFramer.Frame], SyslogFramer
    ) {
        var framer = SyslogFramer(maximumMessageBytes: maximum)
        var out: [SyslogFramer.Frame] = []
        var offset = 0
        while offset < input.count {
            let size = g == nil ? input.count : Int.random(in: 1...512, using: &g!)
            let end = min(input.count, offset + size)
            input[offset..<end].withUnsafeBytes { framer.append($0) { out.append($0) } }
            offset = end
            XCTAssertLessThanOrEqual(framer.bufferedByteCount, maximum)
        }
        framer.finish { out.append($0) }
        return (out, framer)
    }

    func testCorpusIsThere() {
        let names = SyslogCorpus.all.map(\.name)
        XCTAssertGreaterThanOrEqual(names.count, 40)
        for client in ["logger-", "python-", "glibc-", "rfc5424-", "rfc3164-"] {
            XCTAssertTrue(names.contains { $0.hasPrefix(client) }, client)
        }
    }

    func testEveryCorpusEntryBecomesRecords() {
        for (name, bytes) in SyslogCorpus.all {
            if name.hasSuffix(".dgram") {
                _ = record(bytes)
            } else {
                var none: SplitMix64? = nil
                let (out, _) = frames(bytes, maximum: SyslogFramer.defaultMaximumMessageBytes, chunks: &none)
                XCTAssertGreaterThan(out.count, 0, name)
                for frame in out { _ = record(frame.bytes, droppedBytes: frame.droppedBytes) }
            }
        }
    }

    func testRandomAndMutatedInputsNeverCrashAndAlwaysBecomeRecords() throws {
        corpus = SyslogCorpus.all.map(\.bytes)
        let iterations = Int(ProcessInfo.processInfo.environment["JB_FUZZ_ITERATIONS"] ?? "") ?? 100_000
        let start = UInt64(ProcessInfo.processInfo.environment["JB_FUZZ_START"] ?? "") ?? 0x5150_6C6F
        var g = SplitMix64(state: start)
        var records = 0
        var failures: [SyslogParseFailure.Code: Int] = [:]
        var formats: [SyslogMessage.Format: Int] = [:]
        var cut = 0
        var fallbacks = 0
        let started = Date()
        for iteration in 0..<iterations {
            let input = mutate(corpus.randomElement(using: &g)!, &g)
            // As a datagram.
            let (_, message) = record(input)
            records += 1
            formats[message.format, default: 0] += 1
            if let failure = message.failure { failures[failure.code, default: 0] += 1 }
            // As a stream, chunked at random, against the same bytes in one piece.
            let maximum = [16, 100, 1024, SyslogFramer.defaultMaximumMessageBytes].randomElement(using: &g)!
            var chunks: SplitMix64? = SplitMix64(state: g.next())
            var whole: SplitMix64? = nil
            let (out, framer) = frames(input, maximum: maximum, chunks: &chunks)
            let (reference, _) = frames(input, maximum: maximum, chunks: &whole)
            if out != reference {
                XCTFail("iteration \(iteration) (JB_FUZZ_START=\(start)): frames depend on how the bytes were chunked")
                break
            }
            XCTAssertLessThanOrEqual(out.reduce(0) { $0 + $1.bytes.count + $1.droppedBytes }, input.count)
            if input.contains(where: { !Array("\n\r\u{0} 0123456789".utf8).contains($0) }) {
                XCTAssertGreaterThan(out.count, 0, "iteration \(iteration): bytes that are a message make a record")
            }
            for frame in out {
                XCTAssertLessThanOrEqual(frame.bytes.count, maximum)
                _ = record(frame.bytes, droppedBytes: frame.droppedBytes)
                records += 1
            }
            cut += framer.cutFrames
            fallbacks += framer.countFallbacks
        }
        let seconds = Date().timeIntervalSince(started)
        let failureSummary = failures.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)=\($0.value)" }
            .joined(separator: ",")
        print(
            "RELIABILITY scenario=syslog-fuzz inputs=\(iterations) start=\(start) records=\(records) rfc5424=\(formats[.rfc5424] ?? 0) rfc3164=\(formats[.rfc3164] ?? 0) failures=[\(failureSummary)] cut_frames=\(cut) count_fallbacks=\(fallbacks) seconds=\(String(format: "%.1f", seconds))"
        )
        XCTAssertGreaterThan(formats[.rfc5424] ?? 0, 0)
        XCTAssertGreaterThan(failures.count, 3, "the mutations reach the parsers' failure paths")
        XCTAssertGreaterThan(cut, 0)
    }
}
