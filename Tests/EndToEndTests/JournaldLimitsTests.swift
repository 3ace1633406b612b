import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import Synchronization
import XCTest

/// What journald cannot take as it is: records with up to the protocol's 1,000 metadata pairs
/// (more than `sd_journal_sendv`'s 1,024 iovecs as plain fields) reach it with their metadata
/// packed, and a record it still refuses is acknowledged, counted for journald and reported.
final class JournaldLimitsTests: XCTestCase {
    private struct Setup {
        let fixture: CollectorFixture
        let shipper: RecordShipper
        let identifier = Journal.uniqueIdentifier("jblimits")
        var directory: TemporaryDirectory { fixture.directory }
        var collector: Collector { fixture.collector }

        init(routes: (TemporaryDirectory) throws -> [SinkRoute]) throws {
            fixture = try CollectorFixture(routes: routes)
            shipper = fixture.shipper(identifier: identifier)
        }

        func finish() {
            shipper.shutdown()
            fixture.stop()
        }
    }

    /// Every metadata pair of `record`, read back from its journald entry: as a field of its
    /// own (by its journald name), or from the `JB_METADATA` JSON object.
    private func recovered(
        _ record: LogRecord, from entry: Journal.Entry, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        var packed: [String: String] = [:]
        if let json = entry.fields["JB_METADATA"] {
            packed = try XCTUnwrap(
                try JSONSerialization.jsonObject(with: Data(json)) as? [String: String], file: file, line: line)
        }
        var asFields = 0
        for item in record.metadata {
            if let value = packed[item.key] {
                XCTAssertEqual(value, item.value, "packed \(item.key)", file: file, line: line)
                continue
            }
            let name = try XCTUnwrap(
                FieldName.journaldName(forMetadataKey: item.key), "\(item.key) has no field name and is not packed",
                file: file, line: line)
            XCTAssertEqual(entry[name], item.value, "field \(name) of \(item.key)", file: file, line: line)
            asFields += 1
        }
        XCTAssertEqual(asFields + packed.count, record.metadata.count, file: file, line: line)
    }

    func testRecordsUpToTheProtocolsMetadataLimitReachJournaldWithEveryPairRecoverable() throws {
        let sink = JournaldSink()
        let setup = try Setup { _ in [SinkRoute(sink, minimumLevel: .trace)] }
        defer { setup.finish() }

        let plain600 = LogRecord(
            level: .info, label: "limits", message: "plain 600",
            metadata: (0..<600).map { MetadataField("key.\($0)", "value \($0)") }
        )
        // 1,000 pairs, every kind of value JSON must escape, and keys journald has no name for.
        let awkward = [
            "line one\nline two", "quote \" and backslash \\ and \\n", "tab\tcr\rbell\u{7}nul\u{0}", "ünïcödé ✓", "",
            "a=b c=d",
        ]
        var mixed = (0..<997).map { MetadataField("item.\($0)", awkward[$0 % awkward.count] + " #\($0)") }
        mixed += [
            MetadataField("日本", "no journald name"), MetadataField("...", "only punctuation"),
            MetadataField("last", "the last"),
        ]
        let full1000 = LogRecord(
            level: .warning, label: "limits", message: "full 1000\nwith a second line", metadata: mixed)
        // 300 multi-line values: 5 iovecs each, past the budget although 300 fields are far below 512.
        let multiline300 = LogRecord(
            level: .info, label: "limits", message: "multiline 300",
            metadata: (0..<300).map { MetadataField("trace.\($0)", "frame \($0)\nat line \($0)") }
        )
        // Few fields, one of them without a journald name: packed, not dropped.
        let unnamed = LogRecord(
            level: .info, label: "limits", message: "unnamed key",
            metadata: [MetadataField("ok", "1"), MetadataField("€", "euro")])
        let small = LogRecord(level: .info, label: "limits", message: "small", metadata: [MetadataField("ok", "1")])
        for record in [plain600, full1000, multiline300, unnamed, small] { setup.shipper.enqueue(record) }
        XCTAssertTrue(setup.shipper.flush(timeout: 30))

        let entries = try Journal.entries(identifier: setup.identifier, atLeast: 5)
        XCTAssertEqual(entries.count, 5, "every record reached journald: \(entries.compactMap { $0["MESSAGE"] })")
        for record in [plain600, full1000, multiline300, unnamed, small] {
            let entry = try XCTUnwrap(
                entries.first { $0["MESSAGE"] == record.message }, "\(record.message) is in journald")
            try recovered(record, from: entry)
        }
        let byMessage = Dictionary(entries.map { ($0["MESSAGE"] ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        XCTAssertNil(byMessage["small"]?.fields["JB_METADATA"], "a record that fits is not packed")
        XCTAssertEqual(byMessage["unnamed key"]?["JB_METADATA"], #"{"€":"euro"}"#)
        XCTAssertEqual(
            byMessage["full 1000\nwith a second line"]?["LOGGER_LABEL"], "limits", "the bridge's own fields stay fields"
        )
        XCTAssertNotNil(byMessage["plain 600"]?["KEY_0"], "as many pairs as fit stay fields")
        XCTAssertEqual(sink.failedCount, 0)
        XCTAssertEqual(sink.packedCount, 4)
        let statistics = try XCTUnwrap(setup.collector.statistics.perSink.first { $0.name == "journald" })
        XCTAssertEqual(statistics.packed, 4)
        XCTAssertEqual(statistics.failed, 0)
    }

    func testARecordJournaldRefusesIsAcknowledgedCountedAndReportedThroughTheOtherSinks() throws {
        // journald takes every entry the bridge now builds, so the refusal is forced: this
        // `sd_journal_sendv` answers EINVAL for one message, as the real one did for 513 fields.
        let sink = JournaldSink(attributeObjectPID: false, backlogCapacity: 100) { iovecs, count in
            let refused = (0..<Int(count)).contains { index in
                let field = UnsafeRawBufferPointer(start: iovecs![index].iov_base, count: iovecs![index].iov_len)
                return field.elementsEqual("MESSAGE=poison".utf8)
            }
            return refused ? -EINVAL : JournaldSink.systemSendV(iovecs, count)
        }
        let setup = try Setup { directory in
            try SinkConfiguration(base: directory.file("r"), consoleLevel: nil, journaldLevel: nil, maxBytes: 0)
                .makeRoutes()
                + [SinkRoute(sink, minimumLevel: .debug)]
        }
        for message in ["before", "poison", "after"] {
            setup.shipper.enqueue(LogRecord(level: .error, label: "limits", message: message))
        }
        XCTAssertTrue(setup.shipper.flush(timeout: 20), "the refused record is acknowledged with the others")
        XCTAssertEqual(setup.shipper.statistics.held, 0)
        let statistics = try XCTUnwrap(setup.collector.statistics.perSink.first { $0.name == "journald" })
        XCTAssertEqual(statistics.failed, 1)
        XCTAssertEqual(
            statistics.lastFailure?.contains("Invalid argument"), true, "\(String(describing: statistics.lastFailure))")
        XCTAssertEqual(setup.collector.statistics.perSink.filter { $0.name != "journald" }.map(\.failed), [0, 0])
        setup.finish()

        for name in ["r_error.log", "r_debug.log"] {
            let lines = setup.directory.lines(name)
            XCTAssertEqual(lines.filter { $0.hasSuffix(": poison") }.count, 1, "the files have the record: \(lines)")
            let report = lines.filter { $0.contains("journald could not write 1 records (sd_journal_sendv") }
            XCTAssertEqual(report.count, 1, "the loss is reported in \(name): \(lines)")
            XCTAssertTrue(report.first?.contains("ERROR") ?? false, report.first ?? "")
        }
        let stored = try Journal.entries(identifier: setup.identifier, atLeast: 2).compactMap { $0["MESSAGE"] }
        XCTAssertEqual(stored.sorted(), ["after", "before"], "journald has the others")
    }

    func testJournaldRefusingConnectionsIsAwayNotAFailureAndTheBacklogKeepsTheRecords() throws {
        // journald stopped outside socket activation leaves its socket behind: sendmsg gets ECONNREFUSED.
        final class Refusing: Sendable { let on = Atomic<Bool>(true) }
        let refusing = Refusing()
        let sink = JournaldSink(attributeObjectPID: false, backlogCapacity: 100) { iovecs, count in
            refusing.on.load(ordering: .relaxed) ? -ECONNREFUSED : JournaldSink.systemSendV(iovecs, count)
        }
        defer { sink.close() }
        let identifier = Journal.uniqueIdentifier("jbrefused")
        let origin = Origin(pid: getpid(), uid: getuid(), gid: getgid(), identifier: identifier)
        sink.write((1...3).map { LogRecord(level: .info, label: "limits", message: "away \($0)", origin: origin) })
        XCTAssertEqual(sink.failedCount, 0, "kept, not failed: \(String(describing: sink.lastFailure))")
        refusing.on.store(false, ordering: .relaxed)
        sink.idle()
        sink.write([LogRecord(level: .info, label: "limits", message: "back 4", origin: origin)])
        XCTAssertEqual(sink.failedCount, 0)
        let messages = try Journal.entries(identifier: identifier, atLeast: 4).compactMap { $0["MESSAGE"] }
        XCTAssertEqual(messages, ["away 1", "away 2", "away 3", "back 4"], "all of them, in order, once")
    }

    func testTheDaemonsLastLineGivesEachSinksFailedAndPackedCounts() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("d.sock")
        let daemon = try BackgroundProcess(
            Run.journalBridge,
            ["collect", "--socket", socket, "--base", directory.file("d"), "--no-console", "--max-bytes", "0"]
        )
        XCTAssertTrue(eventually { daemon.stderrText.contains("collecting on") }, daemon.stderrText)
        let identifier = Journal.uniqueIdentifier("jbdaemonpack")
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(socketPath: socket, identifier: identifier, flushAtExit: nil))
        shipper.enqueue(
            LogRecord(
                level: .info, label: "limits", message: "wide",
                metadata: (0..<700).map { MetadataField("k\($0)", "v\($0)") }))
        XCTAssertTrue(shipper.flush(timeout: 20))
        shipper.shutdown()
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.wait(), 0, daemon.stderrText)
        XCTAssertTrue(
            daemon.stderrText.contains(
                "stopped after 1 records (error-file: 0 failed, 0 packed; debug-file: 0 failed, 0 packed; journald: 0 failed, 1 packed)"
            ),
            daemon.stderrText
        )
        let entry = try XCTUnwrap(Journal.entries(identifier: identifier).first)
        XCTAssertNotNil(entry["JB_METADATA"])
    }
}
