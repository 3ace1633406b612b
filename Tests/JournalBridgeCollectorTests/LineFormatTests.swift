@testable import JournalBridgeCollector
import JournalBridge
import JournalBridgeTestSupport
import XCTest

final class LineFormatTests: XCTestCase {
    private func line(_ record: LogRecord, _ format: LineFormat = .defaultFile) -> String {
        var formatter = LineFormatter(format)
        var out: [UInt8] = []
        formatter.append(record, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func testDefaultFileFormat() throws {
        setenv("TZ", "UTC", 1)
        tzset()
        // 2026-11-24 19:03:12.345678 UTC
        let record = LogRecord(level: .warning, timestampMicros: 1_795_546_992_345_678, message: "disk almost full")
        XCTAssertEqual(line(record), "[2026-11-24 19:03:12,345] WARNING : disk almost full\n")
    }

    func testDefaultConsoleFormat() {
        XCTAssertEqual(line(LogRecord(level: .info, message: "ready"), .defaultConsole), "[INFO] ready\n")
    }

    func testEveryFieldAndLiteralPercent() throws {
        let format = try LineFormat(
            "%(levelname)s %(name)s %(process)d %(identifier)s %(filename)s:%(lineno)d %(funcName)s {%(metadata)s} 100%%"
        )
        let record = LogRecord(
            level: .error, label: "db", message: "m", file: "Main.swift", function: "run()", line: 42,
            metadata: [MetadataField("a", "1"), MetadataField("b", "x y")],
            origin: Origin(pid: 77, uid: 0, gid: 0, identifier: "app")
        )
        XCTAssertEqual(line(record, format), "ERROR db 77 app Main.swift:42 run() {a=1 b=\"x y\"} 100%\n")
    }

    /// A literal backslash-n and a real newline used to print alike (`\n`).
    func testLiteralBackslashNAndRealNewlineAreDistinguishable() {
        let literal = line(LogRecord(level: .info, message: "a\\nb"), .defaultConsole)
        let newline = line(LogRecord(level: .info, message: "a\nb"), .defaultConsole)
        XCTAssertEqual(literal, "[INFO] a\\\\nb\n")
        XCTAssertEqual(newline, "[INFO] a\\nb\n")
        XCTAssertNotEqual(literal, newline)
        for (text, original) in [(literal, "a\\nb"), (newline, "a\nb")] {
            let escaped = text.utf8.dropFirst("[INFO] ".utf8.count).dropLast()
            XCTAssertEqual(LineEscaping.unescaped(escaped), Array(original.utf8))
        }
    }

    /// A value holding ` k=v` used to read as two pairs.
    func testMetadataValuesThatWouldSplitAreQuoted() throws {
        let format = try LineFormat("%(metadata)s")
        let fields = [
            MetadataField("user", "alice role=admin"), MetadataField("empty", ""), MetadataField("q", "say \"hi\""),
            MetadataField("a=b", "c"), MetadataField("plain", "x"), MetadataField("path", "C:\\dir"),
        ]
        let text = line(LogRecord(level: .info, message: "", metadata: fields), format)
        XCTAssertEqual(text, #"user="alice role=admin" empty="" q="say \"hi\"" "a=b"=c plain=x path=C:\\dir"# + "\n")
        let parsed = try XCTUnwrap(LineEscaping.parsedMetadata(Array(text.utf8.dropLast())))
        XCTAssertEqual(parsed.map { String(decoding: $0.key, as: UTF8.self) }, fields.map(\.key))
        XCTAssertEqual(parsed.map { String(decoding: $0.value, as: UTF8.self) }, fields.map(\.value))
    }

    /// A message that was not valid UTF-8 shows its bytes as `\xNN`; the rest reads as text.
    func testInvalidUTF8MessageIsEscapedByteByByte() {
        var record = LogRecord(level: .error, message: "")
        let raw: [UInt8] = [0x61, 0xFF, 0xFE, 0x62, 0xC3, 0x28, 0xE2, 0x9C, 0x93, 0x0A]
        raw.withUnsafeBytes { record.setMessage(bytes: $0) }
        XCTAssertEqual(record.messageBytes, raw)
        XCTAssertEqual(line(record, .defaultConsole), "[ERROR] a\\xff\\xfeb\\xc3(✓\\n\n")
    }

    func testInvalidUTF8MetadataValueIsEscapedAndQuotedWhenItMustBe() throws {
        var field = MetadataField("k", "")
        ([0xFF, 0x20, 0x3D, 0x22, 0xC3] as [UInt8]).withUnsafeBytes { field.setValue(bytes: $0) }
        let text = line(
            LogRecord(level: .info, message: "", metadata: [field, MetadataField("n", "1")]),
            try LineFormat("%(metadata)s"))
        XCTAssertEqual(text, #"k="\xff =\"\xc3" n=1"# + "\n")
        XCTAssertEqual(
            LineEscaping.parsedMetadata(Array(text.utf8.dropLast()))?.first?.value, [0xFF, 0x20, 0x3D, 0x22, 0xC3])
    }

    func testBadTemplatesAreRejectedWithTheProblem() {
        XCTAssertThrowsError(try LineFormat("%(nope)s")) { XCTAssertTrue("\($0)".contains("unknown field 'nope'")) }
        XCTAssertThrowsError(try LineFormat("%(message)x")) { XCTAssertTrue("\($0)".contains("must end with")) }
        XCTAssertThrowsError(try LineFormat("50% done")) { XCTAssertTrue("\($0)".contains("%%")) }
    }

    func testOneRecordIsAlwaysOneLine() {
        let hostile = "first\nWARNING : forged\r\nthird\u{2028}fourth\u{85}fifth"
        let text = line(LogRecord(level: .info, message: hostile), .defaultConsole)
        XCTAssertEqual(text.filter { $0 == "\n" || $0 == "\r\n" }.count, 1)
        XCTAssertEqual(text, "[INFO] first\\nWARNING : forged\\r\\nthird\\xe2\\x80\\xa8fourth\\xc2\\x85fifth\n")
    }
}

final class EscapingTests: XCTestCase {
    /// Every byte value at every place of a plain line: the escape is found wherever the byte
    /// falls among the eight-byte words the scan reads at once, and only there.
    func testEveryByteIsEscapedAtEveryPlaceOfAWord() {
        let plain = Array("abcdefghijklmnopqrstuvwx".utf8)
        for byte in UInt8.min...UInt8.max {
            let alone = LineEscaping.escaped(bytes: [byte])
            for place in 0...plain.count {
                let line = Array(plain[..<place]) + [byte] + Array(plain[place...])
                let expected =
                    String(decoding: plain[..<place], as: UTF8.self) + alone
                    + String(decoding: plain[place...], as: UTF8.self)
                XCTAssertEqual(LineEscaping.escaped(bytes: line), expected, "byte \(byte) at \(place)")
            }
        }
    }

    func testControlCharacters() {
        XCTAssertEqual(LineEscaping.escaped("a\tb"), "a\\tb")
        XCTAssertEqual(LineEscaping.escaped("nul\u{0}here"), "nul\\x00here")
        XCTAssertEqual(LineEscaping.escaped("del\u{7F}"), "del\\x7f")
        XCTAssertEqual(LineEscaping.escaped("trailing\n"), "trailing\\n")
    }

    func testTerminalEscapesAreDefused() {
        XCTAssertEqual(LineEscaping.escaped("\u{1B}[31mred\u{1B}[0m"), "\\x1b[31mred\\x1b[0m")
        XCTAssertEqual(LineEscaping.escaped("\u{1B}]0;title\u{07}"), "\\x1b]0;title\\x07")
        XCTAssertEqual(LineEscaping.escaped("\u{9B}31m"), "\\xc2\\x9b31m")  // 8-bit CSI
    }

    func testPrintableTextIsUnchanged() {
        for text in ["plain", "ünïcødé ✓ 日本語", "tab-free", "\"quoted\"", ""] {
            XCTAssertEqual(LineEscaping.escaped(text), text)
        }
    }

    func testBackslashIsEscaped() {
        XCTAssertEqual(LineEscaping.escaped("back\\slash"), "back\\\\slash")
        XCTAssertEqual(LineEscaping.escaped("\\x41"), "\\\\x41")
    }

    func testInvalidUTF8BytesAreEscapedAndValidOnesKept() {
        XCTAssertEqual(LineEscaping.escaped(bytes: [0x61, 0xFF, 0x62, 0x0A]), "a\\xffb\\n")
        XCTAssertEqual(LineEscaping.escaped(bytes: [0xED, 0xA0, 0x80]), "\\xed\\xa0\\x80", "a surrogate is not UTF-8")
        XCTAssertEqual(LineEscaping.escaped(bytes: [0xC0, 0xAF]), "\\xc0\\xaf", "nor is an overlong form")
        XCTAssertEqual(
            LineEscaping.escaped(bytes: [0xF4, 0x90, 0x80, 0x80]), "\\xf4\\x90\\x80\\x80", "nor past U+10FFFF")
        XCTAssertEqual(LineEscaping.escaped(bytes: [0xE2, 0x9C]), "\\xe2\\x9c", "nor a cut sequence")
        XCTAssertEqual(LineEscaping.escaped(bytes: Array("ü✓😀\u{85}".utf8)), "ü✓😀\\xc2\\x85")
    }

    func testMalformedEscapesAreRejectedByTheInverse() {
        for text in ["\\", "\\q", "\\x4", "\\xzz", "\\u0085", "\\x"] {
            XCTAssertNil(LineEscaping.unescaped(Array(text.utf8)), text)
        }
    }

    /// Random bytes, biased towards what needs escaping: controls, `\`, `"`, `=`, spaces,
    /// UTF-8 lead and continuation bytes, valid multi-byte characters.
    private func randomBytes(_ g: inout SplitMix64) -> [UInt8] {
        let pieces: [[UInt8]] = [
            [0x5C], [0x22], [0x3D], [0x20], [0x0A], [0x0D], [0x09], [0x00], [0x1B], [0x7F],
            [0xC2, 0x85], [0xE2, 0x80, 0xA8], Array("✓".utf8), Array("😀".utf8), [0xC3], [0x80], [0xFF],
            [0xED, 0xA0, 0x80],
        ]
        var bytes: [UInt8] = []
        for _ in 0..<Int.random(in: 0...40, using: &g) {
            if Bool.random(using: &g) {
                bytes.append(UInt8.random(in: 0...255, using: &g))
            } else {
                bytes.append(contentsOf: pieces.randomElement(using: &g)!)
            }
        }
        return bytes
    }

    func testRandomBytesRoundTripExactlyAndStayOneLine() {
        var g = SplitMix64(state: 0x0F1D_E117)
        for _ in 0..<10_000 {
            let bytes = randomBytes(&g)
            let escaped = LineEscaping.escaped(bytes: bytes)
            XCTAssertEqual(LineEscaping.unescaped(Array(escaped.utf8)), bytes, "\(bytes)")
            XCTAssertFalse(escaped.utf8.contains { $0 < 0x20 || $0 == 0x7F }, escaped)
            XCTAssertFalse(
                escaped.unicodeScalars.contains {
                    (0x80...0x9F).contains($0.value) || $0.value == 0x2028 || $0.value == 0x2029
                }, escaped)
            XCTAssertNotNil(String(validating: escaped.utf8, as: UTF8.self))
            // A String (always valid) round-trips through the string path too.
            let text = String(decoding: bytes, as: UTF8.self)
            XCTAssertEqual(LineEscaping.unescaped(Array(LineEscaping.escaped(text).utf8)), Array(text.utf8))
        }
    }

    func testRandomMetadataPairsParseBackExactly() throws {
        var g = SplitMix64(state: 0xBEEF)
        let format = try LineFormat("%(metadata)s")
        for _ in 0..<5_000 {
            // Keys are Strings; values arrive as any bytes (kept raw when not valid UTF-8).
            var values: [[UInt8]] = []
            let fields = (0..<Int.random(in: 0...5, using: &g)).map { _ in
                var field = MetadataField(String(decoding: randomBytes(&g), as: UTF8.self), "")
                values.append(randomBytes(&g))
                values.last!.withUnsafeBytes { field.setValue(bytes: $0) }
                return field
            }
            var formatter = LineFormatter(format)
            var out: [UInt8] = []
            formatter.append(LogRecord(level: .info, message: "", metadata: fields), to: &out)
            XCTAssertEqual(out.filter { $0 == 0x0A }.count, 1)
            let parsed = try XCTUnwrap(
                LineEscaping.parsedMetadata(Array(out.dropLast())), String(decoding: out, as: UTF8.self))
            XCTAssertEqual(parsed.map(\.key), fields.map { Array($0.key.utf8) })
            XCTAssertEqual(parsed.map(\.value), values)
        }
    }
}
