import JournalBridgeCollector
import Logging
import XCTest

/// The syslog parsers against the RFCs' own examples, what real clients sent, and malformed input.
final class SyslogParserTests: XCTestCase {
    private func parse(_ name: String) -> SyslogMessage { SyslogParser.parse(SyslogCorpus.bytes(name)) }

    // MARK: RFC 5424 section 6.5

    func testRFC5424Example1WithBOMAndNilStructuredData() {
        let m = parse("rfc5424-example1.dgram")
        XCTAssertNil(m.failure)
        XCTAssertEqual(m.format, .rfc5424)
        XCTAssertEqual(m.priority, SyslogPriority(value: 34))
        XCTAssertEqual(m.priority.facility, 4)
        XCTAssertEqual(m.priority.severity, 2)
        XCTAssertEqual(m.timestamp.text, "2003-10-11T22:14:15.003Z")
        XCTAssertEqual(m.timestampMicros, 1_065_910_455_003_000)
        XCTAssertEqual(m.hostname.text, "mymachine.example.com")
        XCTAssertEqual(m.appName.text, "su")
        XCTAssertNil(m.procID)
        XCTAssertEqual(m.msgID.text, "ID47")
        XCTAssertEqual(m.structuredData, [])
        XCTAssertEqual(
            m.message.text, "'su root' failed for lonvick on /dev/pts/8", "the BOM is no part of the message")
    }

    func testRFC5424Example2WithOffsetAndMicroseconds() {
        let m = parse("rfc5424-example2.dgram")
        XCTAssertNil(m.failure)
        XCTAssertEqual(m.priority.facility, 20)
        XCTAssertEqual(m.priority.severity, 5)
        XCTAssertEqual(m.timestamp.text, "2003-08-24T05:14:15.000003-07:00")
        XCTAssertEqual(m.timestampMicros, 1_061_727_255_000_003, "-07:00 is seven hours behind UTC")
        XCTAssertEqual(m.hostname.text, "192.0.2.1")
        XCTAssertEqual(m.appName.text, "myproc")
        XCTAssertEqual(m.procID.text, "8710")
        XCTAssertNil(m.msgID)
        XCTAssertEqual(m.message.text, "%% It's time to make the do-nuts.")
    }

    func testRFC5424Example3And4StructuredData() {
        let three = parse("rfc5424-example3.dgram")
        XCTAssertNil(three.failure)
        XCTAssertEqual(
            three.structuredData,
            [
                SyslogStructuredElement(
                    id: "exampleSDID@32473",
                    parameters: [
                        .init(name: "iut", value: Array("3".utf8)),
                        .init(name: "eventSource", value: Array("Application".utf8)),
                        .init(name: "eventID", value: Array("1011".utf8)),
                    ])
            ])
        XCTAssertEqual(three.message.text, "An application event log entry...")
        let four = parse("rfc5424-example4.dgram")
        XCTAssertNil(four.failure)
        XCTAssertEqual(four.structuredData.map(\.id), ["exampleSDID@32473", "examplePriority@32473"])
        XCTAssertEqual(four.structuredData[1].parameters, [.init(name: "class", value: Array("high".utf8))])
        XCTAssertEqual(four.message, [], "no MSG after the structured data")
    }

    func testStructuredDataEscapesAndBinaryValues() {
        let m = parse("sd-escapes.dgram")
        XCTAssertNil(m.failure)
        XCTAssertEqual(m.structuredData.first?.parameters.map { $0.value.text }, ["a\"b", "c\\d", "e]f", "g\\h"])
        XCTAssertEqual(m.message.text, "escapes")
        let binary = parse("sd-binary-value.dgram")
        XCTAssertNil(binary.failure)
        XCTAssertEqual(binary.structuredData.first?.parameters.first?.value, [0xFF, 0x00, 0xFE])
        let invalid = parse("invalid-utf8-5424.dgram")
        XCTAssertNil(invalid.failure)
        XCTAssertEqual(invalid.message, [0xC3, 0x28, 0x20, 0xFF])
    }

    func testRFC5424Timestamps() {
        func micros(_ text: String) -> Int64? { Array(text.utf8).withUnsafeBytes { SyslogTimestamp.parseRFC5424($0) } }
        XCTAssertEqual(micros("2000-02-29T00:00:00Z"), 951_782_400_000_000)
        XCTAssertEqual(micros("1969-12-31T23:59:59Z"), -1_000_000)
        XCTAssertEqual(micros("2003-10-11T22:14:15.1Z"), 1_065_910_455_100_000)
        XCTAssertEqual(
            micros("2003-10-11T22:14:15.123456789+00:00"), 1_065_910_455_123_456, "nanoseconds cut to micros")
        XCTAssertEqual(micros("2003-10-12T00:14:15+02:00"), 1_065_910_455_000_000)
        XCTAssertNil(micros("2001-02-29T00:00:00Z"), "not a leap year")
        XCTAssertNil(micros("2003-13-01T00:00:00Z"))
        XCTAssertNil(micros("2003-10-11T24:00:00Z"))
        XCTAssertNil(micros("2003-10-11T22:14:15"), "an offset is required")
        XCTAssertNil(micros("2003-10-11T22:14:15.Z"))
        XCTAssertNil(micros("2003-10-11T22:14:15.1234567890Z"))
        XCTAssertNil(micros("2003-10-11 22:14:15Z"))
        XCTAssertNil(micros("2003-10-11T22:14:15Zjunk"))
    }

    // MARK: RFC 3164 section 5.4

    func testRFC3164Examples() {
        let one = parse("rfc3164-example1.dgram")
        XCTAssertNil(one.failure)
        XCTAssertEqual(one.format, .rfc3164)
        XCTAssertEqual(one.priority.value, 34)
        XCTAssertEqual(one.timestamp.text, "Oct 11 22:14:15")
        XCTAssertNil(one.timestampMicros)
        XCTAssertEqual(one.hostname.text, "mymachine")
        XCTAssertEqual(one.appName.text, "su")
        XCTAssertNil(one.procID)
        XCTAssertEqual(one.message.text, "'su root' failed for lonvick on /dev/pts/8")

        let two = parse("rfc3164-example2.dgram")
        XCTAssertEqual(two.failure?.code, .missingPriority)
        XCTAssertEqual(two.priority.value, 13, "RFC 3164 4.3.3: user.notice")
        XCTAssertEqual(two.message.text, "Use the BFG!")

        let three = parse("rfc3164-example3.dgram")
        XCTAssertNil(three.failure)
        XCTAssertEqual(three.timestamp.text, "Feb  5 17:32:18")
        XCTAssertEqual(three.hostname.text, "10.0.0.99")
        XCTAssertNil(three.appName, "no word ending with ':' follows")
        XCTAssertEqual(three.message.text, "Use the BFG!")

        // Odd but valid per the RFC: whatever does not fit the usual parts stays in the message.
        let four = parse("rfc3164-example4.dgram")
        XCTAssertNil(four.failure)
        XCTAssertEqual(four.priority.value, 165)
        XCTAssertEqual(four.timestamp.text, "Aug 24 05:34:00")
        XCTAssertTrue(four.message.text.hasSuffix("Conveyer2=OK # %%"))
        let five = parse("rfc3164-example5.dgram")
        XCTAssertNil(five.failure)
        XCTAssertEqual(five.priority.value, 0)
        XCTAssertEqual(five.priority.level, .critical)
        XCTAssertEqual(
            five.message.text,
            "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!")
    }

    // MARK: What real clients sent (Tests/Corpus/capture-syslog.py)

    func testLoggerRFC3164WithHostnameAndPid() {
        let m = parse("logger-rfc3164.dgram")
        XCTAssertNil(m.failure)
        XCTAssertEqual(m.format, .rfc3164)
        XCTAssertEqual(m.priority.facility, 19, "local3")
        XCTAssertEqual(m.priority.severity, 4)
        XCTAssertNotNil(m.hostname)
        XCTAssertEqual(m.appName.text, "capture-logger")
        XCTAssertEqual(m.procID.text, "4242")
        XCTAssertEqual(m.message.text, "hello from logger rfc3164")
    }

    func testLoggerLocalFormHasNoHostname() {
        let m = parse("logger-default-local.dgram")
        XCTAssertNil(m.failure)
        XCTAssertNotNil(m.timestamp)
        XCTAssertNil(m.hostname)
        XCTAssertEqual(m.appName.text, "capture-logger")
        XCTAssertEqual(m.message.text, "logger's default for a local socket")
        let invalid = parse("logger-invalid-utf8.dgram")
        XCTAssertEqual(invalid.message, Array("invalid utf-8 ".utf8) + [0xFF, 0xFE] + Array(" here".utf8))
    }

    func testLoggerRFC5424WithStructuredDataAndMsgID() {
        let m = parse("logger-rfc5424-sd-msgid.dgram")
        XCTAssertNil(m.failure)
        XCTAssertEqual(m.format, .rfc5424)
        XCTAssertEqual(m.priority.value, 11)
        XCTAssertNotNil(m.timestampMicros)
        XCTAssertEqual(m.appName.text, "capture-logger")
        XCTAssertNil(m.procID)
        XCTAssertEqual(m.msgID.text, "ID47")
        XCTAssertEqual(m.structuredData.map(\.id), ["timeQuality", "origin@32473"])
        XCTAssertEqual(m.structuredData[1].parameters.map(\.name), ["ip", "note"])
        XCTAssertEqual(
            m.structuredData[1].parameters.map { $0.value.text }, ["192.0.2.1", "quote \" backslash \\ bracket ]"])
        XCTAssertEqual(m.message.text, "hello from logger rfc5424")

        let two = parse("logger-rfc5424-two-elements.dgram")
        XCTAssertNil(two.failure)
        XCTAssertEqual(two.structuredData.map(\.id), ["timeQuality", "a@1", "b@2"])
        XCTAssertEqual(
            two.structuredData[2].parameters,
            [.init(name: "y", value: [UInt8(ascii: "2")]), .init(name: "y", value: [UInt8(ascii: "3")])])
    }

    func testPythonSysLogHandlerBareForm() {
        let m = parse("python-unix.dgram")
        XCTAssertNil(m.failure)
        XCTAssertEqual(m.raw.last, 0, "Python sends a trailing NUL")
        XCTAssertEqual(m.priority.facility, 16, "local0")
        XCTAssertEqual(m.priority.severity, 4)
        XCTAssertNil(m.timestamp)
        XCTAssertNil(m.hostname)
        XCTAssertEqual(m.appName.text, "capture-python")
        XCTAssertEqual(m.message.text, "hello from python", "the NUL stripped")
        XCTAssertEqual(parse("python-unix-multiline.dgram").message.text, "line one\nline two")
        let ident = parse("python-unix-ident.dgram")
        XCTAssertEqual(ident.appName.text, "capture-python")
        XCTAssertNotNil(ident.procID)
        XCTAssertEqual(ident.message.text, "with ident")
    }

    func testGlibcSyslogLocalForm() {
        let m = parse("glibc-pid.dgram")
        XCTAssertNil(m.failure)
        XCTAssertEqual(m.priority.facility, 18, "local2")
        XCTAssertEqual(m.priority.severity, 4)
        XCTAssertNotNil(m.timestamp)
        XCTAssertNil(m.hostname, "glibc sends no hostname")
        XCTAssertEqual(m.appName.text, "capture-glibc")
        XCTAssertNotNil(m.procID.flatMap { Int32($0.text) })
        XCTAssertEqual(m.message.text, "hello from glibc 42")
        XCTAssertEqual(parse("glibc-facility.dgram").priority.facility, 4, "LOG_AUTH given with the level")
        let nopid = parse("glibc-nopid.dgram")
        XCTAssertEqual(nopid.appName.text, "capture-glibc-nopid")
        XCTAssertNil(nopid.procID)
        XCTAssertEqual(nopid.message.text, "without a pid")
    }

    // MARK: Malformed

    func testMalformedMessagesKeepTheirBytesAndSayWhy() {
        let cases: [(String, SyslogParseFailure.Code, Int)] = [
            ("bad-pri-too-big.dgram", .invalidPriority, 13),
            ("bad-pri-unclosed.dgram", .invalidPriority, 13),
            ("bad-5424-timestamp.dgram", .invalidTimestamp, 13),
            ("bad-5424-sd-unclosed.dgram", .invalidStructuredData, 13),
            ("bad-5424-sd-noquote.dgram", .invalidStructuredData, 13),
            ("bad-5424-short.dgram", .truncatedHeader, 13),
            ("empty-after-strip.dgram", .empty, 13),
        ]
        for (name, code, priority) in cases {
            let bytes = SyslogCorpus.bytes(name)
            let m = SyslogParser.parse(bytes)
            XCTAssertEqual(m.failure?.code, code, name)
            XCTAssertEqual(m.priority.value, priority, name)
            XCTAssertEqual(m.raw, bytes, name)
            var content = bytes
            while let last = content.last, last == 0 || last == 10 || last == 13 { content.removeLast() }
            XCTAssertEqual(m.message, content, "\(name): the message is the bytes received")
        }
        let header = SyslogParser.parse(Array("<13>1 - host app - - [x@1 a=\"b\"".utf8))
        XCTAssertEqual(header.failure?.code, .invalidStructuredData)
        XCTAssertEqual(header.appName.text, "app", "the parts parsed before the failure are kept")
        let long = SyslogParser.parse(Array(("<13>1 - h " + String(repeating: "a", count: 49) + " - - - m").utf8))
        XCTAssertEqual(long.failure?.code, .invalidHeaderField, "APP-NAME is at most 48 characters")
        let control = SyslogParser.parse(Array("<13>1 - h\u{1} app - - - m".utf8))
        XCTAssertEqual(control.failure?.code, .invalidHeaderField)
        XCTAssertEqual(SyslogParser.parse(Array("<13>1 - h a p m -x".utf8)).failure?.code, .invalidStructuredData)
        XCTAssertEqual(SyslogParser.parse(Array("<13>1 - h a p m [".utf8)).failure?.code, .invalidStructuredData)
        XCTAssertEqual(SyslogParser.parse(Array("<13>1 - h a p m []".utf8)).failure?.code, .invalidStructuredData)
        XCTAssertEqual(
            SyslogParser.parse(Array("<13>1 2003-10-11T22:14:15\u{7}Z h a p m - x".utf8)).failure?.code,
            .invalidTimestamp)
        XCTAssertEqual(SyslogParser.parse(Array("<1234>x".utf8)).failure?.code, .invalidPriority)
        XCTAssertEqual(SyslogParser.parse(Array("<>x".utf8)).failure?.code, .invalidPriority)
    }

    func testLenientWhereRealSendersDiffer() {
        let zero = parse("pri-leading-zero.dgram")
        XCTAssertNil(zero.failure)
        XCTAssertEqual(zero.priority.value, 13)
        let onlyPRI = parse("only-pri.dgram")
        XCTAssertNil(onlyPRI.failure)
        XCTAssertEqual(onlyPRI.message, [])
        let nul = parse("nul-inside.dgram")
        XCTAssertEqual(nul.message, Array("before".utf8) + [0] + Array("after".utf8), "a NUL inside is kept")
        let control = parse("control-chars.dgram")
        XCTAssertEqual(
            control.message.text, "\u{1B}[31mred\u{1B}[0m\r\nforged line", "kept as bytes; the files escape them")
        let version2 = SyslogParser.parse(Array("<13>2 not five four two four".utf8))
        XCTAssertEqual(version2.format, .rfc3164, "only `1 ` after the PRI is RFC 5424, as rsyslog tells them")
        XCTAssertEqual(version2.message.text, "2 not five four two four")
        let singleDigitDay = SyslogParser.parse(Array("<13>Oct  1 01:02:03 host tag[7]: x".utf8))
        XCTAssertEqual(singleDigitDay.hostname.text, "host")
        XCTAssertEqual(singleDigitDay.procID.text, "7")
        let forward = SyslogParser.parse(
            Array("<30>2026-11-28T08:13:56.010615+00:00 otherhost sshd[99]: accepted".utf8))
        XCTAssertNil(forward.failure)
        XCTAssertEqual(forward.format, .rfc3164, "rsyslog's RSYSLOG_ForwardFormat")
        XCTAssertEqual(forward.timestamp.text, "2026-11-28T08:13:56.010615+00:00")
        XCTAssertEqual(forward.timestampMicros, 1_795_853_636_010_615)
        XCTAssertEqual(forward.hostname.text, "otherhost")
        XCTAssertEqual(forward.appName.text, "sshd")
        XCTAssertEqual(forward.procID.text, "99")
        XCTAssertEqual(forward.message.text, "accepted")
        let crlf = SyslogParser.parse(Array("<13>tag: windows line\r\n".utf8))
        XCTAssertEqual(crlf.message.text, "windows line")
    }

    func testSeverityToLevel() {
        let expected: [Logger.Level] = [.critical, .critical, .critical, .error, .warning, .notice, .info, .debug]
        for severity in 0..<8 {
            XCTAssertEqual(SyslogPriority(value: 8 + severity)?.level, expected[severity], "severity \(severity)")
        }
        XCTAssertNil(SyslogPriority(value: 192))
        XCTAssertEqual(SyslogPriority(value: 191)?.facility, 23)
    }
}
