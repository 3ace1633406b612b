@testable import JournalBridgeCollector
import JournalBridge
import XCTest

final class LineFormatTests: XCTestCase {
    private func line(_ record: LogRecord, _ format: LineFormat = .seedFile) -> String {
        var formatter = LineFormatter(format)
        var out: [UInt8] = []
        formatter.append(record, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func testSeedFileFormat() throws {
        setenv("TZ", "UTC", 1)
        tzset()
        // 2026-11-24 19:03:12.345678 UTC
        let record = LogRecord(level: .warning, timestampMicros: 1_795_546_992_345_678, message: "disk almost full")
        XCTAssertEqual(line(record), "[2026-11-24 19:03:12,345] WARNING : disk almost full\n")
    }

    func testSeedConsoleFormat() {
        XCTAssertEqual(line(LogRecord(level: .info, message: "ready"), .seedConsole), "[INFO] ready\n")
    }

    func testEveryFieldAndLiteralPercent() throws {
        let format = try LineFormat("%(levelname)s %(name)s %(process)d %(identifier)s %(filename)s:%(lineno)d %(funcName)s {%(metadata)s} 100%%")
        let record = LogRecord(
            level: .error, label: "db", message: "m", file: "Main.swift", function: "run()", line: 42,
            metadata: [MetadataField("a", "1"), MetadataField("b", "x y")],
            origin: Origin(pid: 77, uid: 0, gid: 0, identifier: "app")
        )
        XCTAssertEqual(line(record, format), "ERROR db 77 app Main.swift:42 run() {a=1 b=x y} 100%\n")
    }

    func testBadTemplatesAreRejectedWithTheProblem() {
        XCTAssertThrowsError(try LineFormat("%(nope)s")) { XCTAssertTrue("\($0)".contains("unknown field 'nope'")) }
        XCTAssertThrowsError(try LineFormat("%(message)x")) { XCTAssertTrue("\($0)".contains("must end with")) }
        XCTAssertThrowsError(try LineFormat("50% done")) { XCTAssertTrue("\($0)".contains("%%")) }
    }

    func testOneRecordIsAlwaysOneLine() {
        let hostile = "first\nWARNING : forged\r\nthird\u{2028}fourth\u{85}fifth"
        let text = line(LogRecord(level: .info, message: hostile), .seedConsole)
        XCTAssertEqual(text.filter { $0 == "\n" || $0 == "\r\n" }.count, 1)
        XCTAssertEqual(text, "[INFO] first\\nWARNING : forged\\r\\nthird\\u2028fourth\\u0085fifth\n")
    }
}

final class EscapingTests: XCTestCase {
    func testControlCharacters() {
        XCTAssertEqual(LineEscaping.escaped("a\tb"), "a\\tb")
        XCTAssertEqual(LineEscaping.escaped("nul\u{0}here"), "nul\\x00here")
        XCTAssertEqual(LineEscaping.escaped("del\u{7F}"), "del\\x7f")
        XCTAssertEqual(LineEscaping.escaped("trailing\n"), "trailing\\n")
    }

    func testTerminalEscapesAreDefused() {
        XCTAssertEqual(LineEscaping.escaped("\u{1B}[31mred\u{1B}[0m"), "\\x1b[31mred\\x1b[0m")
        XCTAssertEqual(LineEscaping.escaped("\u{1B}]0;title\u{07}"), "\\x1b]0;title\\x07")
        XCTAssertEqual(LineEscaping.escaped("\u{9B}31m"), "\\u009b31m")  // 8-bit CSI
    }

    func testPrintableTextIsUnchanged() {
        for text in ["plain", "ünïcødé ✓ 日本語", "back\\slash", "tab-free", ""] {
            XCTAssertEqual(LineEscaping.escaped(text), text)
        }
    }

    func testInvalidUTF8ArrivesRepairedNotRaw() {
        let repaired = String(decoding: [0x61, 0xFF, 0x62, 0x0A], as: UTF8.self)
        XCTAssertEqual(LineEscaping.escaped(repaired), "a\u{FFFD}b\\n")
    }
}
