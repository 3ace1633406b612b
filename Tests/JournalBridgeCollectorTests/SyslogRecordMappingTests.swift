#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import XCTest

/// A parsed syslog message as a record, and that record as journald stores it.
final class SyslogRecordMappingTests: XCTestCase {
    private let kernel = Origin(pid: 4321, uid: 1000, gid: 1000, identifier: "from-kernel")

    private func record(_ bytes: [UInt8], droppedBytes: Int = 0) -> LogRecord {
        SyslogRecordMapping.record(
            from: SyslogParser.parse(bytes), origin: kernel, receivedMicros: 77, droppedBytes: droppedBytes)
    }

    private func fields(_ record: LogRecord) -> [String: String] {
        Dictionary(record.syslogFields.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    func testRFC5424PartsBecomeFields() {
        let r = record(SyslogCorpus.bytes("rfc5424-example3.dgram"))
        XCTAssertEqual(r.level, .notice)
        XCTAssertEqual(r.timestampMicros, 1_065_910_455_003_000, "the sender's RFC 5424 time")
        XCTAssertEqual(r.label, "syslog")
        XCTAssertEqual(r.message, "An application event log entry...")
        XCTAssertEqual(r.origin.identifier, "evntslog")
        XCTAssertEqual(r.origin.pid, 4321, "the kernel's pid stays the record's origin")
        XCTAssertEqual(
            fields(r),
            [
                "PRIORITY": "5", "SYSLOG_FACILITY": "20", "SYSLOG_IDENTIFIER": "evntslog", "SYSLOG_MSGID": "ID47",
                "SYSLOG_TIMESTAMP": "2003-10-11T22:14:15.003Z", "SYSLOG_HOSTNAME": "mymachine.example.com",
            ])
        XCTAssertEqual(
            r.metadata.map(\.key),
            ["exampleSDID@32473.iut", "exampleSDID@32473.eventSource", "exampleSDID@32473.eventID"])
        XCTAssertEqual(r.metadata.map(\.value), ["3", "Application", "1011"])
        XCTAssertEqual(
            r.metadata.compactMap { FieldName.journaldName(forMetadataKey: $0.key) },
            ["EXAMPLESDID_32473_IUT", "EXAMPLESDID_32473_EVENTSOURCE", "EXAMPLESDID_32473_EVENTID"])
    }

    func testRFC3164ClaimsAndReceiveTime() {
        let r = record(SyslogCorpus.bytes("logger-rfc3164.dgram"))
        XCTAssertEqual(r.level, .warning)
        XCTAssertEqual(r.timestampMicros, 77, "an RFC 3164 time has no year or zone: the time received")
        XCTAssertEqual(fields(r)["SYSLOG_PID"], "4242", "the pid as claimed")
        XCTAssertEqual(fields(r)["SYSLOG_FACILITY"], "19")
        XCTAssertEqual(fields(r)["SYSLOG_IDENTIFIER"], "capture-logger")
        XCTAssertNil(fields(r)["SYSLOG_RAW"])
        let untagged = record(Array("<14>no tag here".utf8))
        XCTAssertEqual(untagged.origin.identifier, "from-kernel", "no tag: the input's identifier")
        XCTAssertNil(fields(untagged)["SYSLOG_IDENTIFIER"])
    }

    func testEverySeverityKeepsItsPriorityAsSent() {
        for severity in 0..<8 {
            let r = record(Array("<\(8 + severity)>x: m".utf8))
            XCTAssertEqual(fields(r)["PRIORITY"], String(severity))
            XCTAssertEqual(r.level.syslogPriority, max(2, severity), "levels stop at critical")
        }
    }

    func testMalformedIsStoredWithItsRawBytesAndReason() {
        let raw = Array("<13>1 - host app - - [id@1 a=\"unterminated\n".utf8)
        let r = record(raw)
        XCTAssertEqual(r.message, "<13>1 - host app - - [id@1 a=\"unterminated")
        XCTAssertEqual(r.syslogFields.first { $0.key == "SYSLOG_RAW" }?.value, String(decoding: raw, as: UTF8.self))
        XCTAssertEqual(fields(r)["JB_SYSLOG_ERROR"]?.hasPrefix("malformed RFC 5424 STRUCTURED-DATA"), true)
        XCTAssertEqual(fields(r)["PRIORITY"], "5")
        let noPRI = record([0xFF, 0x41])
        XCTAssertEqual(fields(noPRI)["PRIORITY"], "5", "user.notice")
        XCTAssertEqual(fields(noPRI)["SYSLOG_FACILITY"], "1")
        XCTAssertEqual(noPRI.level, .notice)
        XCTAssertEqual(fields(noPRI)["JB_SYSLOG_ERROR"]?.hasPrefix("no <PRI>"), true)
    }

    func testCutMessagesSaySo() {
        let r = record(Array("<13>tag: abc".utf8), droppedBytes: 1234)
        XCTAssertEqual(r.message, "abc…[truncated 1234 bytes]")
    }

    /// The record's fields as `sd_journal_sendv` gets them, in order.
    private func sentFields(_ records: [LogRecord]) -> [[String: [[UInt8]]]] {
        final class Box: @unchecked Sendable { var entries: [[(String, [UInt8])]] = [] }
        let box = Box()
        let sink = JournaldSink(attributeObjectPID: false, backlogCapacity: 10) { iovecs, count in
            var entry: [(String, [UInt8])] = []
            for i in 0..<Int(count) {
                let bytes = Array(UnsafeRawBufferPointer(start: iovecs![i].iov_base, count: iovecs![i].iov_len))
                let equals = bytes.firstIndex(of: UInt8(ascii: "="))!
                entry.append((String(decoding: bytes[..<equals], as: UTF8.self), Array(bytes[(equals + 1)...])))
            }
            box.entries.append(entry)
            return 0
        }
        guard JournaldSink.isAvailable else { return [] }
        sink.write(records)
        return box.entries.map { Dictionary(grouping: $0, by: \.0).mapValues { $0.map(\.1) } }
    }

    func testJournaldSinkWritesTheClaimsInPlaceOfItsOwn() throws {
        try XCTSkipUnless(JournaldSink.isAvailable, "journald's socket is needed for the sink to send")
        let r = record(Array("<8>1 - host app 99 MSG [x@1 a=\"1\"] emergency".utf8))
        let entry = try XCTUnwrap(sentFields([r]).first)
        XCTAssertEqual(entry["PRIORITY"], [Array("0".utf8)], "emerg as sent, once")
        XCTAssertEqual(entry["SYSLOG_PID"], [Array("99".utf8)], "the claim, once")
        XCTAssertEqual(entry["JB_PID"], [Array("4321".utf8)], "the kernel's pid")
        XCTAssertEqual(entry["SYSLOG_IDENTIFIER"], [Array("app".utf8)])
        XCTAssertEqual(entry["SYSLOG_FACILITY"], [Array("1".utf8)])
        XCTAssertEqual(entry["SYSLOG_MSGID"], [Array("MSG".utf8)])
        XCTAssertEqual(entry["X_1_A"], [Array("1".utf8)])
        // Structured data cannot pose as the bridge's fields or journald's trusted ones.
        let hostile = record(
            Array("<13>1 - h app - - [syslog pid=\"1\" identifier=\"x\"][_SYSTEMD_UNIT x=\"y\"][JB uid=\"0\"] m".utf8))
        let forged = try XCTUnwrap(sentFields([hostile]).first)
        XCTAssertEqual(forged["META_SYSLOG_PID"], [Array("1".utf8)])
        XCTAssertEqual(forged["META_SYSLOG_IDENTIFIER"], [Array("x".utf8)])
        XCTAssertEqual(forged["SYSTEMD_UNIT_X"], [Array("y".utf8)])
        XCTAssertEqual(forged["META_JB_UID"], [Array("0".utf8)])
        XCTAssertNil(forged["SYSLOG_PID"], "no PROCID, no claim")
        XCTAssertEqual(forged["SYSLOG_IDENTIFIER"], [Array("app".utf8)])
        XCTAssertEqual(forged["JB_UID"], [Array("1000".utf8)])
        XCTAssertTrue(forged.keys.allSatisfy { !$0.hasPrefix("_") })
        // A bridge record is written as before.
        let bridge = try XCTUnwrap(sentFields([LogRecord(level: .error, message: "m", origin: kernel)]).first)
        XCTAssertEqual(bridge["PRIORITY"], [Array("3".utf8)])
        XCTAssertEqual(bridge["SYSLOG_PID"], [Array("4321".utf8)])
        XCTAssertNil(bridge["JB_PID"])
    }

    func testRealJournaldStoresTheSyslogFieldsAndBytesAsSent() throws {
        try XCTSkipUnless(JournaldSink.isAvailable, "journald is not running")
        let identifier = Journal.uniqueIdentifier("jbsyslog")
        let sink = JournaldSink(attributeObjectPID: false)
        let datagram =
            Array(
                "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 \(identifier) 8710 ID47 [origin@32473 ip=\"192.0.2.1\" bin=\"\u{1}"
                    .utf8)
            + [0xFF] + Array("\"][origin@32473 ip=\"2\"] caf".utf8) + [0xC3]
        sink.write([record(datagram)])
        sink.close()
        let entry = try XCTUnwrap(try Journal.entries(identifier: identifier).first)
        XCTAssertEqual(entry.fields["MESSAGE"], Array("caf".utf8) + [0xC3], "invalid UTF-8 stored as sent")
        XCTAssertEqual(entry["PRIORITY"], "5")
        XCTAssertEqual(entry["SYSLOG_FACILITY"], "20")
        XCTAssertEqual(entry["SYSLOG_PID"], "8710")
        XCTAssertEqual(entry["JB_PID"], "4321")
        XCTAssertEqual(entry["SYSLOG_MSGID"], "ID47")
        XCTAssertEqual(entry["SYSLOG_HOSTNAME"], "192.0.2.1")
        XCTAssertEqual(entry["SYSLOG_TIMESTAMP"], "2003-08-24T05:14:15.000003-07:00")
        XCTAssertEqual(entry["LOGGER_LABEL"], "syslog")
        XCTAssertEqual(
            entry.repeated["ORIGIN_32473_IP"], [Array("192.0.2.1".utf8), Array("2".utf8)],
            "a repeated param is repeated")
        XCTAssertEqual(entry.fields["ORIGIN_32473_BIN"], [1, 0xFF])
        XCTAssertEqual(entry["JB_TIMESTAMP"], "1061727255000003")
    }
}
