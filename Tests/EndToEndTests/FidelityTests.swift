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

    private func assertKeptAsBytes(identifier: String, debugFile: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let entries = try Journal.entries(identifier: identifier, atLeast: input.count)
        XCTAssertEqual(entries.map { $0.fields["MESSAGE"] ?? [] }, input, "journald has the bytes as sent", file: file, line: line)
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
        let directory = try TemporaryDirectory()
        let socket = directory.file("c.sock")
        let identifier = Journal.uniqueIdentifier()
        let collector = Collector(
            configuration: CollectorConfiguration(socketPath: socket),
            routes: try SinkConfiguration(base: directory.file("c"), consoleLevel: nil, maxBytes: 0).makeRoutes()
        )
        try collector.start()
        defer { collector.stop() }
        let result = try Run.journalBridge(["send", "--socket", socket, "--identifier", identifier, "-"], stdin: stdin)
        XCTAssertEqual(result.status, 0, result.stderrText)
        collector.stop()
        try assertKeptAsBytes(identifier: identifier, debugFile: directory.lines("c_debug.log"))
    }

    func testTraceReachesJournaldByDefaultAndNotTheFiles() throws {
        let directory = try TemporaryDirectory()
        let identifier = Journal.uniqueIdentifier()
        let result = try Run.journalBridge(
            ["send", "--direct", "--base", directory.file("t"), "--level", "trace", "--identifier", identifier, "fine detail"]
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
