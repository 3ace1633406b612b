import Foundation
import JournalBridge
import JournalBridgeTestSupport
import XCTest

/// Generator-based fuzzing of the frame decoder (docs/reliability.md, scenario 7):
/// random bytes and mutations of the seed corpus in Tests/Corpus/frame-decoder, fed in
/// random chunks. No input may crash it, hang it or make it buffer more than one frame's
/// worth. `JB_FUZZ_ITERATIONS` sets the count (CI: 100,000; the full run: 1,000,000).
final class FrameDecoderFuzzTests: XCTestCase {
    private var corpus: [[UInt8]] {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../Corpus/frame-decoder"
        ).standardized
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap {
            FileManager.default.contents(atPath: directory.appendingPathComponent($0).path).map(Array.init)
        }
    }

    /// The shared mutations (`ByteMutator`) and the wire's own: a length field set to an edge.
    private func mutate(_ start: [UInt8], _ g: inout SplitMix64) -> [UInt8] {
        ByteMutator(corpus: corpusCache, special: [Self.lengthFieldAtAnEdge]).mutate(start, &g)
    }

    /// A big-endian length field set to an edge, anywhere.
    private static func lengthFieldAtAnEdge(_ bytes: inout [UInt8], _ g: inout SplitMix64) {
        let edges: [UInt32] = [
            0, 1, 5, 0x7F, 0xFF, 0xFFFF, UInt32(WireProtocol.maxFrameBytes), UInt32(WireProtocol.maxFrameBytes + 1),
            .max,
        ]
        let value = edges.randomElement(using: &g)!
        let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &g)
        bytes.replaceSubrange(at..<min(bytes.count, at + 4), with: withUnsafeBytes(of: value.bigEndian, Array.init))
    }

    private var corpusCache: [[UInt8]] = []

    /// Feeds `input` in random chunks; returns frames decoded, or the error that ended it.
    private func feed(_ input: [UInt8], _ g: inout SplitMix64) -> (frames: Int, error: WireError?) {
        var decoder = FrameDecoder()
        var offset = 0
        var frames = 0
        while offset < input.count {
            let chunk = min(input.count - offset, Int.random(in: 1...4096, using: &g))
            decoder.append(input[offset..<offset + chunk])
            offset += chunk
            do {
                while try decoder.nextFrame() != nil { frames += 1 }
            } catch {
                return (frames, error)
            }
            // Bounded: never more than one frame (length checked first) and one chunk buffered.
            XCTAssertLessThanOrEqual(decoder.bufferedByteCount, WireProtocol.maxFrameBytes + 4 + 4096)
        }
        return (frames, nil)
    }

    func testCorpusDecodesAsTheSpecSays() throws {
        corpusCache = corpus
        XCTAssertGreaterThanOrEqual(corpusCache.count, 20, "the corpus is in the repo")
        var g = SplitMix64(state: 1)
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../Corpus/frame-decoder"
        ).standardized.path
        func outcome(_ name: String) -> (Int, WireError?) {
            let bytes = Array(FileManager.default.contents(atPath: "\(dir)/\(name).bin")!)
            return feed(bytes, &g)
        }
        XCTAssertEqual(outcome("batch-many").0, 2)
        XCTAssertNil(outcome("batch-many").1)
        XCTAssertNil(outcome("hostile-keys").1)
        XCTAssertNil(outcome("invalid-utf8").1)
        XCTAssertEqual(outcome("zero-length").1?.code, .emptyFrame)
        XCTAssertEqual(outcome("one-over-limit").1?.code, .frameTooLarge)
        XCTAssertEqual(outcome("max-length-prefix").1?.code, .frameTooLarge)
        XCTAssertEqual(outcome("bad-level").1?.code, .invalidLevel)
        XCTAssertEqual(outcome("unknown-version").1?.code, .unsupportedVersion)
        XCTAssertEqual(outcome("unknown-type").1?.code, .unknownFrameType)
        XCTAssertEqual(outcome("count-lies").1?.code, .truncated)
        XCTAssertEqual(outcome("garbage").1?.code, .frameTooLarge)
        XCTAssertEqual(outcome("truncated").0, 1, "the hello decodes; the cut batch waits for bytes that never come")
    }

    func testRandomAndMutatedInputsNeverCrashHangOrOverBuffer() throws {
        corpusCache = corpus
        let iterations = Int(ProcessInfo.processInfo.environment["JB_FUZZ_ITERATIONS"] ?? "") ?? 100_000
        let seed = UInt64(ProcessInfo.processInfo.environment["JB_FUZZ_SEED"] ?? "") ?? 0x5EED
        var g = SplitMix64(state: seed)
        var decodedFrames = 0
        var rejected = 0
        let started = Date()
        for _ in 0..<iterations {
            let input = mutate(corpusCache.randomElement(using: &g)!, &g)
            let (frames, error) = feed(input, &g)
            decodedFrames += frames
            if error != nil { rejected += 1 }
        }
        let seconds = Date().timeIntervalSince(started)
        print(
            "RELIABILITY scenario=fuzz inputs=\(iterations) seed=\(seed) frames_decoded=\(decodedFrames) rejected=\(rejected) seconds=\(String(format: "%.1f", seconds))"
        )
        XCTAssertGreaterThan(decodedFrames, 0)
        XCTAssertGreaterThan(rejected, 0)
    }
}
