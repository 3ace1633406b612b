import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import XCTest

/// Bytes kept as bytes from `journal-bridge send -` to journald, escaped reversibly in the
/// files; every level reaches journald by default.
final class FidelityTests: XCTestCase {
    /// Lines of stdin: invalid UTF-8, a literal backslash-n, a quote, and valid text.
    private let input: [[UInt8]] = [
        [0x61, 0xFF, 0xFE, 0x62],
        [0xC3, 0x28, 0x00, 0x7A],
        Array(#"literal \n here"#.utf8),
        [0xED, 0xA0, 0x80] + Array(" surrogate".utf8),
        Array("plain ✓".utf8),
    ]
    private let escapedInFile = [
        #"a\xff\xfeb"#, #"\xc3(\x00z"#, #"literal \\n here"#, #"\xed\xa0\x80 surrogate"#, "plain ✓",
    ]

    private func assertKeptAsBytes(
        identifier: String, debugFile: [String], file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let entries = try Journal.entries(identifier: identifier, atLeast: input.count)
        XCTAssertEqual(
            entries.map { $0.fields["MESSAGE"] ?? [] }, input, "journald has the bytes as sent", file: file, line: line)
        XCTAssertEqual(debugFile.count, input.count, file: file, line: line)
        for (text, expected) in zip(debugFile, escapedInFile) {
            XCTAssertTrue(text.hasSuffix("] INFO : " + expected), text, file: file, line: line)
        }
        // The file gives the bytes back.
        let recovered = debugFile.map { text in
            LineEscaping.unescaped(Array(text.utf8.drop { $0 != UInt8(ascii: "]") }.dropFirst("] INFO : ".utf8.count)))
        }
        XCTAssertEqual(recovered, input.map { Optional($0) }, file: file, line: line)
    }

    private var stdin: [UInt8] { input.flatMap { $0 + [0x0A] } }

    func testStandardInputBytesReachJournaldExactlyInDirectMode() throws {
        let directory = try TemporaryDirectory()
        let identifier = Journal.uniqueIdentifier()
        let result = try Run.journalBridge(
            ["send", "--direct", "--base", directory.file("d"), "--identifier", identifier, "-"], stdin: stdin
        )
        XCTAssertEqual(result.status, 0, result.stderrText)
        try assertKeptAsBytes(identifier: identifier, debugFile: directory.lines("d_debug.log"))
    }

    func testStandardInputBytesReachJournaldExactlyThroughACollector() throws {
        let fixture = try CollectorFixture(files: "c", journaldLevel: .trace)
        defer { fixture.stop() }
        let (directory, socket, collector) = (fixture.directory, fixture.socketPath, fixture.collector)
        let identifier = Journal.uniqueIdentifier()
        let result = try Run.journalBridge(["send", "--socket", socket, "--identifier", identifier, "-"], stdin: stdin)
        XCTAssertEqual(result.status, 0, result.stderrText)
        collector.stop()
        try assertKeptAsBytes(identifier: identifier, debugFile: directory.lines("c_debug.log"))
    }

    /// A client's frame with a message and a metadata value that are not UTF-8.
    func testInvalidUTF8MessageAndMetadataValueFromTheWireReachJournaldExactly() throws {
        let fixture = try CollectorFixture(files: "w", journaldLevel: .trace)
        defer { fixture.stop() }
        let (directory, socket, collector) = (fixture.directory, fixture.socketPath, fixture.collector)
        let identifier = Journal.uniqueIdentifier()
        // m, 0xff, a literal backslash-n, a newline, a cut sequence
        let message: [UInt8] = [0x6D, 0xFF, 0x5C, 0x6E, 0x0A, 0xC3]
        let value: [UInt8] = [0x76, 0x20, 0x6B, 0x3D, 0x76, 0xFE]  // "v k=v" and 0xfe
        var record = LogRecord(level: .warning, message: "", sequence: 1, origin: .unattributed)
        message.withUnsafeBytes { record.setMessage(bytes: $0) }
        var field = MetadataField("request.id", "")
        value.withUnsafeBytes { field.setValue(bytes: $0) }
        record.metadata = [field]
        let client = try RawClient(path: socket)
        client.send(.hello(Hello(session: .random(in: 1...UInt64.max), identifier: identifier)))
        _ = client.nextFrame()
        client.send(.batch([record]))
        guard case .ack(1)? = client.nextFrame() else { return XCTFail("not acknowledged") }
        let entry = try XCTUnwrap(Journal.entries(identifier: identifier).first)
        XCTAssertEqual(entry.fields["MESSAGE"], message)
        XCTAssertEqual(entry.fields["REQUEST_ID"], value)
        collector.stop()
        let lines = directory.lines("w_error.log")
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines.first?.hasSuffix(#" : m\xff\\n\n\xc3"#) ?? false, lines.first ?? "")

        // With the metadata in the format, the value is quoted and gives its bytes back.
        let format = try LineFormat("%(message)s %(metadata)s")
        let sink = try RotatingFileSink(path: directory.file("m.log"), options: .init(maxBytes: 0, format: format))
        sink.write([record])
        sink.close()
        XCTAssertEqual(directory.lines("m.log"), [#"m\xff\\n\n\xc3 request.id="v k=v\xfe""#])
    }

    /// docs/files.md promises that Python's `codecs.escape_decode` inverts a line exactly.
    func testPythonEscapeDecodeGivesBackTheBytesOfEveryLine() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "no python3 here")
        var g = SystemRandomNumberGenerator()
        let pieces: [[UInt8]] = [
            [0x5C], [0x22], [0x0D], [0x09], [0x00], [0x1B], [0x7F], [0xC2, 0x85], [0xE2, 0x80, 0xA8], [0xC3], [0xFF],
        ]
        let lines: [[UInt8]] = (0..<500).map { _ in
            // '>' first and '<' last: a "\r" before stdin's "\n" would be taken as a line end
            var line: [UInt8] = [0x3E]
            for _ in 0..<Int.random(in: 0...30, using: &g) {
                if Bool.random(using: &g) {
                    let byte = UInt8.random(in: 0...255, using: &g)
                    line.append(byte == 0x0A ? 0x0B : byte)
                } else {
                    line.append(contentsOf: pieces.randomElement(using: &g)!)
                }
            }
            return line + [0x3C]
        }
        let directory = try TemporaryDirectory()
        let sent = try Run.journalBridge(
            ["send", "--direct", "--no-journald", "--base", directory.file("p"), "-"],
            stdin: lines.flatMap { $0 + [0x0A] }
        )
        XCTAssertEqual(sent.status, 0, sent.stderrText)
        let script = """
            import codecs, sys
            for line in sys.stdin.buffer:
                message = line.rstrip(b"\\n").split(b"] ", 1)[1].split(b" : ", 1)[1]
                sys.stdout.buffer.write(codecs.escape_decode(message)[0] + b"\\n")
            """
        let file = try XCTUnwrap(FileManager.default.contents(atPath: directory.file("p_debug.log")))
        let decoded = try Run.command("/usr/bin/python3", ["-c", script], stdin: Array(file))
        XCTAssertEqual(decoded.status, 0, decoded.stderrText)
        XCTAssertEqual(
            decoded.stdout.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map(Array.init), lines)
    }

    func testTraceReachesJournaldByDefaultAndNotTheFiles() throws {
        let directory = try TemporaryDirectory()
        let identifier = Journal.uniqueIdentifier()
        let result = try Run.journalBridge(
            [
                "send", "--direct", "--base", directory.file("t"), "--level", "trace", "--identifier", identifier,
                "fine detail",
            ]
        )
        XCTAssertEqual(result.status, 0, result.stderrText)
        let entry = try XCTUnwrap(Journal.entries(identifier: identifier).first, "trace reached journald")
        XCTAssertEqual(entry["MESSAGE"], "fine detail")
        XCTAssertEqual(entry["LOGGER_LEVEL"], "TRACE")
        XCTAssertEqual(entry["PRIORITY"], "7")
        XCTAssertEqual(directory.lines("t_debug.log"), [], "the debug file starts at DEBUG")
        XCTAssertEqual(directory.lines("t_error.log"), [])
    }
}
