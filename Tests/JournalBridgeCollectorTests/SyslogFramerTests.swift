import JournalBridgeCollector
import XCTest

/// RFC 6587 framing of syslog streams: octet-counting and non-transparent, told apart per frame.
final class SyslogFramerTests: XCTestCase {
    /// The end of a line is found wherever it falls among the eight-byte words the framer reads
    /// at once: random bytes (every value, LF and NUL often), against a plain byte-by-byte search.
    func testTheLineEndIsFoundAtEveryPlace() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20000 {
            let length = Int.random(in: 0...40, using: &generator)
            let bytes = (0..<length).map { _ -> UInt8 in
                switch UInt8.random(in: 0...9, using: &generator) {
                case 0: 0x0A
                case 1: 0
                default: UInt8.random(in: 1...255, using: &generator)
                }
            }
            let expected = bytes.firstIndex { $0 == 0x0A || $0 == 0 } ?? bytes.count
            XCTAssertEqual(bytes.withUnsafeBytes { SyslogFramer.lineEnd($0) }, expected, "\(bytes)")
        }
    }

    private func frames(_ input: [UInt8], chunk: Int = .max, maximum: Int = SyslogFramer.defaultMaximumMessageBytes)
        -> ([SyslogFramer.Frame], SyslogFramer)
    {
        var framer = SyslogFramer(maximumMessageBytes: maximum)
        var out: [SyslogFramer.Frame] = []
        var offset = 0
        while offset < input.count {
            let end = min(input.count, offset + chunk)
            framer.append(Array(input[offset..<end])) { out.append($0) }
            XCTAssertLessThanOrEqual(framer.bufferedByteCount, maximum)
            offset = end
        }
        framer.finish { out.append($0) }
        return (out, framer)
    }

    func testLoggerOctetCountingOverTCP() {
        for chunk in [1, 7, 4096] {
            let (out, framer) = frames(SyslogCorpus.bytes("logger-tcp-octet-count.stream"), chunk: chunk)
            XCTAssertEqual(out.count, 2, "chunk \(chunk)")
            XCTAssertEqual(out.map(\.framing), [.octetCounting, .octetCounting])
            XCTAssertEqual(out.map { SyslogParser.parse($0.bytes).message.text }, ["counted one", "counted two"])
            XCTAssertTrue(out.allSatisfy { $0.droppedBytes == 0 && !$0.unterminated })
            XCTAssertEqual(framer.countFallbacks, 0)
        }
    }

    func testLineFramingFromLoggerPythonAndGlibc() {
        let cases: [(String, [String])] = [
            ("logger-tcp-lf.stream", ["tcp one", "tcp two"]),
            ("logger-unix-stream.stream", ["first line", "second line"]),
            ("python-tcp.stream", ["tcp one", "tcp two"]),
            ("glibc-unix-stream.stream", ["hello from glibc 42", "explicit facility"]),
        ]
        for (name, messages) in cases {
            for chunk in [1, 3, 4096] {
                let (out, _) = frames(SyslogCorpus.bytes(name), chunk: chunk)
                XCTAssertEqual(
                    out.map { SyslogParser.parse($0.bytes).message.text }, messages, "\(name) chunk \(chunk)")
                XCTAssertTrue(out.allSatisfy { $0.framing == .nonTransparent && !$0.unterminated }, name)
                XCTAssertTrue(out.allSatisfy { SyslogParser.parse($0.bytes).failure == nil }, name)
            }
        }
    }

    func testFramingIsToldApartPerFrame() {
        let (out, framer) = frames(SyslogCorpus.bytes("mixed-framing.stream"), chunk: 5)
        XCTAssertEqual(
            out.map(\.bytes.text),
            ["<13>octet counted", "<14>lf terminated", "<15>nul terminated", "<13>1 - h a p m - counted"])
        XCTAssertEqual(out.map(\.framing), [.octetCounting, .nonTransparent, .nonTransparent, .octetCounting])
        XCTAssertEqual(framer.emptyFrames, 2, "the LF and NUL between frames")
    }

    func testDigitsThatAreNoCountStartALine() {
        let (out, framer) = frames(Array("2023-01-01 not a count\n12345678901 eleven digits\n".utf8))
        XCTAssertEqual(out.map(\.bytes.text), ["2023-01-01 not a count", "12345678901 eleven digits"])
        XCTAssertEqual(framer.countFallbacks, 2)
    }

    func testOversizedLineIsCutAndTheRestSkippedNotBuffered() {
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: 10_000)
        let input = Array("<13>".utf8) + long + [10] + Array("<13>next\n".utf8)
        let (out, framer) = frames(input, chunk: 300, maximum: 1000)
        XCTAssertEqual(out.count, 2)
        XCTAssertEqual(out[0].bytes.count, 1000)
        XCTAssertEqual(out[0].droppedBytes, 10_004 - 1000)
        XCTAssertEqual(out[1].bytes.text, "<13>next", "the message after a cut one is intact")
        XCTAssertEqual(framer.cutFrames, 1)
        XCTAssertEqual(framer.droppedBytes, 9004)
    }

    func testOversizedOctetCountIsCutAndTheRestSkipped() {
        let body = Array("<13>".utf8) + [UInt8](repeating: UInt8(ascii: "b"), count: 5000)
        let input = Array("\(body.count) ".utf8) + body + Array("9 <13>after".utf8)
        let (out, framer) = frames(input, chunk: 64, maximum: 100)
        XCTAssertEqual(out.map(\.bytes.count), [100, 9])
        XCTAssertEqual(out[0].droppedBytes, body.count - 100)
        XCTAssertEqual(out[1].bytes.text, "<13>after")
        XCTAssertEqual(framer.cutFrames, 1)
    }

    func testAHugeDeclaredCountNeverBuffersMoreThanTheLimit() {
        var framer = SyslogFramer(maximumMessageBytes: 64)
        var out: [SyslogFramer.Frame] = []
        framer.append(Array("9999999999 ".utf8)) { out.append($0) }
        for _ in 0..<100 {
            framer.append([UInt8](repeating: 0x41, count: 1000)) { out.append($0) }
            XCTAssertLessThanOrEqual(framer.bufferedByteCount, 64)
        }
        XCTAssertEqual(out.count, 0)
        framer.finish { out.append($0) }
        XCTAssertEqual(out.count, 1, "what arrived is stored when the stream ends")
        XCTAssertEqual(out.first?.unterminated, true)
        XCTAssertEqual(out.first?.bytes.count, 64)
        XCTAssertEqual(out.first?.droppedBytes, 11 + 100_000 - 64)
        XCTAssertEqual(framer.countFallbacks, 1, "a count past the frame limit is no count")
    }

    /// A count past `maximumFrameBytes` (rsyslog's MaxFrameSize, 200,000) is a framing error, as
    /// rsyslog takes it: the line framing goes on, so the client's next messages stay messages
    /// (taken at its word, the count made them all one, stored only at the close).
    func testACountPastTheFrameLimitIsNoCountAndTheNextMessagesStayMessages() {
        let (out, framer) = frames(Array("9999999999 <13>first\n<13>second\n<13>third\n".utf8))
        XCTAssertEqual(out.map(\.bytes.text), ["9999999999 <13>first", "<13>second", "<13>third"])
        XCTAssertEqual(out.map(\.framing), [.nonTransparent, .nonTransparent, .nonTransparent])
        XCTAssertEqual(framer.countFallbacks, 1)
        // Up to the frame limit a count is a count: the frame is cut to the message limit.
        var limited = SyslogFramer(maximumMessageBytes: 64)
        var cut: [SyslogFramer.Frame] = []
        limited.append(Array("200000 ".utf8) + [UInt8](repeating: 0x42, count: 200_000) + Array("<13>next\n".utf8)) {
            cut.append($0)
        }
        XCTAssertEqual(cut.map(\.bytes.count), [64, 8])
        XCTAssertEqual(cut.first?.droppedBytes, 200_000 - 64)
        XCTAssertEqual(limited.countFallbacks, 0)
        XCTAssertEqual(limited.maximumFrameBytes, SyslogFramer.defaultMaximumFrameBytes)
        XCTAssertEqual(SyslogFramer(maximumMessageBytes: 1 << 20).maximumFrameBytes, 1 << 20)
    }

    /// An octet-counted frame the connection's close cut short says how much never came.
    func testAFrameCutShortByTheCloseSaysWhatIsMissing() {
        var framer = SyslogFramer()
        var out: [SyslogFramer.Frame] = []
        framer.append(Array("100 <13>abc".utf8)) { out.append($0) }
        framer.finish { out.append($0) }
        XCTAssertEqual(out.map(\.bytes.text), ["<13>abc"])
        XCTAssertEqual(out.first?.missingBytes, 93)
        XCTAssertEqual(out.first?.unterminated, true)
        // Nothing of the frame came: still a message, empty, that says so.
        out.removeAll()
        framer.append(Array("12 ".utf8)) { out.append($0) }
        framer.finish { out.append($0) }
        XCTAssertEqual(out.map(\.missingBytes), [12])
        // An unterminated line misses nothing: no count promised more.
        let (line, _) = frames(Array("<13>no end".utf8))
        XCTAssertEqual(line.map(\.missingBytes), [0])
    }

    func testAnUnterminatedLastLineIsStored() {
        let (out, _) = frames(Array("<13>complete\n<13>no end".utf8))
        XCTAssertEqual(out.map(\.bytes.text), ["<13>complete", "<13>no end"])
        XCTAssertEqual(out.map(\.unterminated), [false, true])
        let (countOnly, _) = frames(Array("42".utf8))
        XCTAssertEqual(countOnly.map(\.bytes.text), ["42"], "digits at the end are a message, not a lost count")
        // A count of 12 digits is no count; a count shorter than the message leaves a rest that
        // is a frame of its own: every byte is stored, none invents a message boundary beyond them.
        let (lying, framer) = frames(SyslogCorpus.bytes("octet-count-lies.stream"))
        XCTAssertEqual(lying.map(\.bytes.text), ["<13>a", "999999999999 <13>x", "<13>1 - - - ", "- -"])
        XCTAssertEqual(lying.map(\.framing), [.octetCounting, .nonTransparent, .octetCounting, .nonTransparent])
        XCTAssertEqual(framer.countFallbacks, 1)
    }
}
