import Foundation
import JournalBridge
import JournalBridgeTestSupport
@testable import JournalBridgeCollector
import JournalBridgeDaemon
import NIOCore
import XCTest

/// The forward sink's parts without a receiver: RFC 5424 formatting, URLs, RELP frames,
/// the buffer's bounds, the configuration keys.
final class ForwardSinkTests: XCTestCase {
    private func text(_ record: LogRecord) -> String {
        String(decoding: SyslogFormatter(hostname: "host one").format(record), as: UTF8.self)
    }

    func testRFC5424HeaderStructuredDataAndBOM() {
        let record = LogRecord(
            level: .warning, timestampMicros: 1_700_000_000_123_456, label: "app.db", message: "disk \"full\"",
            file: "Sources/A.swift", function: "f()", line: 12,
            metadata: [
                MetadataField("request.id", "42"), MetadataField("odd key=", "a]b\"c\\d"), MetadataField("_x", "y"),
            ],
            sequence: 7, origin: Origin(pid: 321, uid: 1000, gid: 100, identifier: "my app", session: 0xABC)
        )
        let out = text(record)
        XCTAssertTrue(
            out.hasPrefix(
                "<12>1 2023-11-14T22:13:20.123456Z host_one my_app 321 - [jb@32473 SYSLOG_IDENTIFIER=\"my app\" JB_UID=\"1000\" JB_GID=\"100\" LOGGER_LABEL=\"app.db\" CODE_FILE=\"Sources/A.swift\" CODE_LINE=\"12\" CODE_FUNC=\"f()\" JB_SESSION=\"0000000000000abc\" JB_SEQ=\"7\"]"
            ), out)
        XCTAssertTrue(
            out.contains(
                "[jbmeta@32473 request.id=\"42\" _1.k=\"odd key=\" _1.v=\"a\\]b\\\"c\\\\d\" _2.k=\"_x\" _2.v=\"y\"]"),
            out)
        XCTAssertTrue(out.hasSuffix("] \u{FEFF}disk \"full\""), out)
    }

    /// What the sink sends, read back by the collector's own RFC 5424 parser: every field and
    /// every metadata key and value recoverable, hostile ones included.
    func testRoundTripThroughTheRFC5424Parser() throws {
        let metadata = [
            MetadataField("plain", "v"), MetadataField("with space", "a b"), MetadataField("q\"uote", "x\"y"),
            MetadataField("br]acket", "]\\["),
            MetadataField("日本", "値"), MetadataField("", "empty key"),
            MetadataField(String(repeating: "k", count: 40), "long key"),
            MetadataField("_leading", "u"), MetadataField("multi", "line one\nline two"), MetadataField("eq=", "="),
        ]
        let record = LogRecord(
            level: .trace, timestampMicros: 1_795_853_552_123_456, label: "a.b", message: "héllo ] \" \\",
            file: "F.swift", function: "g()", line: 3,
            metadata: metadata, sequence: 99,
            origin: Origin(
                pid: 77, uid: 5, gid: 6,
                identifier: "id with spaces and a very long name beyond forty eight characters", session: 1)
        )
        let parsed = SyslogParser.parse(SyslogFormatter(hostname: "h").format(record))
        XCTAssertNil(parsed.failure)
        XCTAssertEqual(parsed.format, .rfc5424)
        XCTAssertEqual(parsed.timestampMicros, record.timestampMicros)
        XCTAssertEqual(parsed.procID.map { String(decoding: $0, as: UTF8.self) }, "77")
        XCTAssertEqual(String(decoding: parsed.message, as: UTF8.self), record.message)
        let fields = try XCTUnwrap(parsed.structuredData.first { $0.id == SyslogFormatter.fieldsID })
        func field(_ name: String) -> String? {
            fields.parameters.first { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) }
        }
        XCTAssertEqual(field("SYSLOG_IDENTIFIER"), record.origin.identifier)
        XCTAssertEqual(
            field("LOGGER_LEVEL"), "TRACE", "said for trace only, as to journald: PRI's severity 7 is also debug's")
        XCTAssertEqual(parsed.priority.severity, 7)
        for once in ["SYSLOG_PID", "PRIORITY", "JB_TIMESTAMP"] {
            XCTAssertNil(field(once), "\(once) is in the header (PROCID, PRI, TIMESTAMP), not sent twice")
        }
        XCTAssertEqual(field("JB_SEQ"), "99")
        XCTAssertEqual(field("JB_SESSION"), "0000000000000001")
        XCTAssertEqual(field("CODE_FUNC"), "g()")
        let meta = try XCTUnwrap(parsed.structuredData.first { $0.id == SyslogFormatter.metadataID })
        var recovered: [MetadataField] = []
        var pendingKey: String?
        for parameter in meta.parameters {
            let value = String(decoding: parameter.value, as: UTF8.self)
            if parameter.name.hasPrefix("_") && parameter.name.hasSuffix(".k") {
                pendingKey = value
            } else if parameter.name.hasPrefix("_") && parameter.name.hasSuffix(".v"), let key = pendingKey {
                recovered.append(MetadataField(key, value))
                pendingKey = nil
            } else {
                recovered.append(MetadataField(parameter.name, value))
            }
        }
        XCTAssertEqual(recovered, metadata)
    }

    /// Records whose fields put `"`, `\\` and `]` on both sides of every 8-byte boundary, and
    /// edge values (no fields, invalid UTF-8, a negative time, the largest numbers).
    private func awkwardRecords() -> [LogRecord] {
        var records: [LogRecord] = []
        for offset in 0..<18 {
            let pad = String(repeating: "p", count: offset)
            records.append(
                LogRecord(
                    level: .critical, timestampMicros: 1_795_853_552_000_001 + Int64(offset) * 333_333,
                    label: pad + "\"", message: pad + "]",
                    file: pad + "\\" + pad, function: pad + "]\"\\]" + pad, line: UInt32(offset),
                    metadata: [MetadataField("k" + pad, pad + "]"), MetadataField(pad + "\"", "é" + pad + "\\")],
                    sequence: UInt64(offset), origin: Origin(pid: 1, uid: 2, gid: 3, identifier: pad + "]", session: 0)
                ))
        }
        records.append(
            LogRecord(
                level: .trace, timestampMicros: 0, message: "", origin: Origin(pid: 0, uid: 0, gid: 0, identifier: "")))
        var invalid = LogRecord(
            level: .error, timestampMicros: -1, label: "l", message: "",
            sequence: .max, origin: Origin(pid: -5, uid: .max, gid: .max, identifier: "é\u{1}x", session: .max))
        [0x66, 0xFF, 0x5D, 0x22].withUnsafeBytes { invalid.setMessage(bytes: $0) }
        records.append(invalid)
        return records
    }

    /// A batch formats into one block exactly as the records one by one; values that double
    /// in size when escaped (more than the room first reserved) come out whole.
    func testABatchIsTheRecordsOneByOne() throws {
        let formatter = SyslogFormatter(hostname: "h")
        let hostile = String(repeating: "\"]\\", count: 3000)
        let escaped = String(repeating: "\\\"\\]\\\\", count: 3000)
        let records =
            awkwardRecords() + [
                LogRecord(
                    level: .info, label: hostile, message: hostile, metadata: [MetadataField(hostile, hostile)],
                    origin: Origin(pid: 1, uid: 1, gid: 1, identifier: hostile))
            ] + awkwardRecords()
        let big = String(decoding: formatter.format(records[awkwardRecords().count]), as: UTF8.self)
        XCTAssertTrue(big.contains("SYSLOG_IDENTIFIER=\"\(escaped)\" "))
        XCTAssertTrue(big.contains("LOGGER_LABEL=\"\(escaped)\"]"))
        XCTAssertTrue(big.contains("[jbmeta@32473 _0.k=\"\(escaped)\" _0.v=\"\(escaped)\"] \u{FEFF}\(hostile)"))
        let block = formatter.format(records)
        XCTAssertEqual(block.count, records.count)
        for index in records.indices {
            XCTAssertEqual(Array(block.message(index)), formatter.format(records[index]), "record \(index)")
        }
    }

    /// The bytes the formatter writes for awkward records, pinned by their length and FNV-1a
    /// hash, so that no change of the wire format goes unseen. Last changed on purpose when
    /// the header's values stopped being sent twice (SYSLOG_PID, PRIORITY, JB_TIMESTAMP, and
    /// LOGGER_LEVEL but for trace); `testNumbersAreWrittenAsTheirDecimalDigits` checks the digits.
    func testAwkwardRecordsByteForByte() {
        let formatter = SyslogFormatter(hostname: "h")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var length = 0
        for record in awkwardRecords() {
            for byte in formatter.format(record) {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
                length += 1
            }
        }
        XCTAssertEqual(length, 6240)
        XCTAssertEqual(String(hash, radix: 16), "527150ef78d751ae")
    }

    /// Every number of a message in its decimal digits, at each number of digits and at the
    /// ends of its type: the sequence (UInt64), the line (UInt), the pid (Int32, negative too).
    func testNumbersAreWrittenAsTheirDecimalDigits() throws {
        var sequences: [UInt64] = [1, UInt64.max, UInt64.max - 1]
        var power: UInt64 = 1
        for _ in 0..<19 {
            power *= 10
            sequences += [power - 1, power, power + 1]
        }
        let formatter = SyslogFormatter(hostname: "h")
        for (index, sequence) in sequences.enumerated() {
            let line = UInt32(truncatingIfNeeded: sequence)
            let pid: Int32 = index % 3 == 0 ? Int32.min : (index % 3 == 1 ? Int32.max : -Int32(index))
            let record = LogRecord(
                level: .info, timestampMicros: 1_795_853_552_000_001, label: "n", message: "m", file: "F.swift",
                function: "f()", line: line, sequence: sequence,
                origin: Origin(pid: pid, uid: UInt32.max, gid: 0, identifier: "n", session: 1))
            let text = String(decoding: formatter.format(record), as: UTF8.self)
            XCTAssertTrue(text.contains(" JB_SEQ=\"\(sequence)\""), text)
            XCTAssertTrue(text.contains(" CODE_LINE=\"\(line)\""), text)
            XCTAssertTrue(text.contains(" n \(pid) - ["), text)
            XCTAssertTrue(text.contains(" JB_UID=\"4294967295\" JB_GID=\"0\""), text)
            XCTAssertTrue(text.hasPrefix("<14>1 2026-11-28T08:12:32.000001Z h "), text)
        }
    }

    /// TIMESTAMP writes the years 0000 to 9999; a worker's time outside them (any 64-bit value
    /// comes through the wire) makes TIMESTAMP `-` and goes as `JB_TIMESTAMP`: no time lost,
    /// no trap (the lowest ones used to overflow).
    func testATimeTheHeaderCannotWriteIsInTheStructuredData() {
        let formatter = SyslogFormatter(hostname: "h")
        func text(_ micros: Int64) -> String {
            String(
                decoding: formatter.format(
                    LogRecord(
                        level: .info, timestampMicros: micros, label: "t", message: "m",
                        origin: Origin(pid: 1, uid: 1, gid: 1, identifier: "t"))), as: UTF8.self)
        }
        for micros in [Int64.max, Int64.min, Int64.min + 1, 253_402_300_800_000_000, -62_167_219_200_000_001] {
            XCTAssertTrue(text(micros).hasPrefix("<14>1 - h "), "NILVALUE: \(text(micros))")
            XCTAssertTrue(text(micros).contains(" JB_TIMESTAMP=\"\(micros)\""), text(micros))
        }
        XCTAssertTrue(text(253_402_300_799_999_999).hasPrefix("<14>1 9999-12-31T23:59:59.999999Z h "))
        XCTAssertTrue(text(-62_167_219_200_000_000).hasPrefix("<14>1 0000-01-01T00:00:00.000000Z h "))
        for micros: Int64 in [253_402_300_799_999_999, -62_167_219_200_000_000, 0, 1_795_853_552_123_456] {
            XCTAssertFalse(text(micros).contains("JB_TIMESTAMP"), text(micros))
        }
    }

    func testParamNames() {
        XCTAssertTrue(SyslogFormatter.isParamName("request.id"))
        XCTAssertFalse(SyslogFormatter.isParamName(""))
        XCTAssertFalse(SyslogFormatter.isParamName(String(repeating: "k", count: 33)))
        for bad in ["a b", "a=b", "a]b", "a\"b", "é"] { XCTAssertFalse(SyslogFormatter.isParamName(bad), bad) }
    }

    func testDestinations() throws {
        XCTAssertEqual(
            try ForwardDestination(parsing: "relp://127.0.0.1:2514"),
            ForwardDestination(transport: .relp, host: "127.0.0.1", port: 2514))
        XCTAssertEqual(try ForwardDestination(parsing: "syslog+tls://[::1]:6514").host, "::1")
        XCTAssertEqual(try ForwardDestination(parsing: "SYSLOG+TCP://logs.example:514/").transport, .tcp)
        for bad in ["udp://h:514", "relp://h", "relp://h:0", "relp://:514", "relp://h:70000", "h:514", "relp://a b:1"] {
            XCTAssertThrowsError(try ForwardDestination(parsing: bad), bad)
        }
    }

    func testRELPFrames() throws {
        var out = ByteBuffer()
        Array("hello".utf8).withUnsafeBytes { RELPFrame.encode(txnr: 3, command: "syslog", data: $0, into: &out) }
        XCTAssertEqual(String(buffer: out), "3 syslog 5 hello\n")
        var inbound = ByteBuffer(string: "1 rsp 6 200 OK\n0 serverclose 0\n2 rsp 6 200")
        XCTAssertEqual(try RELPFrame.decode(&inbound), RELPFrame(txnr: 1, command: "rsp", data: Array("200 OK".utf8)))
        XCTAssertEqual(try RELPFrame.decode(&inbound), RELPFrame(txnr: 0, command: "serverclose"))
        XCTAssertNil(try RELPFrame.decode(&inbound), "incomplete")
        for hostile in ["x rsp 0\n", "1 rsp 99999999 ", "1 rsp 3 abcd\n", "1234567890 rsp 0\n", "1 r$p 0\n"] {
            var bytes = ByteBuffer(string: hostile)
            XCTAssertThrowsError(try RELPFrame.decode(&bytes), hostile)
        }
        XCTAssertEqual(RELPFrame.next(after: RELPFrame.maximumTxnr), 1)
    }

    func testBufferDropsTheOldestCountsThemAndRewinds() {
        let buffer = ForwardBuffer(maximumRecords: 3, maximumBytes: 1000)
        XCTAssertEqual(buffer.append([[1], [2], [3], [4], [5]]), 2)
        XCTAssertEqual(buffer.dropped, 2)
        XCTAssertEqual(buffer.takeUnreportedDrops(), 2)
        XCTAssertEqual(buffer.takeUnreportedDrops(), 0)
        XCTAssertEqual(buffer.next()?.bytes, [3])
        XCTAssertEqual(buffer.next()?.bytes, [4])
        buffer.rewind()
        let again = buffer.next()
        XCTAssertEqual(again?.bytes, [3], "unconfirmed messages are sent again")
        buffer.confirm(upTo: again!.id)
        XCTAssertEqual(buffer.count, 2)
        XCTAssertEqual(buffer.confirmed, 1)
        let bytes = ForwardBuffer(maximumRecords: 100, maximumBytes: 10)
        XCTAssertEqual(bytes.append([[UInt8](repeating: 0, count: 6), [UInt8](repeating: 1, count: 6)]), 1)
    }

    /// Messages are kept in blocks, one per batch: what is sent, confirmed, sent again and
    /// dropped is counted in messages across them, as with one array per message.
    func testBufferAcrossBlocks() throws {
        func messages(_ runs: [ForwardBuffer.Run]) -> [[UInt8]] {
            runs.flatMap { run in run.range.map { Array(run.block.message($0)) } }
        }
        func ids(_ runs: [ForwardBuffer.Run]) -> [UInt64] { runs.flatMap { run in run.range.map { run.block.id($0) } } }
        let buffer = ForwardBuffer(maximumRecords: 6, maximumBytes: 1000)
        buffer.append([[1], [2], [3]])
        buffer.append([[4, 4]])
        buffer.append([[5], [6]])
        let first = buffer.next(limit: 2, bytes: 100)
        XCTAssertEqual(messages(first), [[1], [2]])
        let second = buffer.next(limit: 10, bytes: 3)
        XCTAssertEqual(messages(second), [[3], [4, 4]], "stops once the bytes are reached, across a block")
        XCTAssertEqual(ids(first) + ids(second), [1, 2, 3, 4])
        buffer.confirm(upTo: 2)
        XCTAssertEqual(buffer.count, 4)
        buffer.rewind()
        XCTAssertEqual(
            messages(buffer.next(limit: 10, bytes: 100)), [[3], [4, 4], [5], [6]], "from the first unconfirmed")
        buffer.confirm(upTo: 4)
        XCTAssertEqual(buffer.confirmed, 4)
        // Three more past the bound of 6: the oldest two go, one of them in flight.
        XCTAssertEqual(buffer.append([[7], [8], [9], [10], [11], [12]]), 2)
        XCTAssertEqual(buffer.count, 6)
        XCTAssertEqual(messages(buffer.next(limit: 10, bytes: 100)), [[7], [8], [9], [10], [11], [12]])
        buffer.rewind()
        XCTAssertEqual(ids(buffer.next(limit: 1, bytes: 100)), [7])
        buffer.confirm(upTo: 100)
        XCTAssertEqual(buffer.count, 5, "only what was sent is confirmed")
        XCTAssertEqual(buffer.confirmed, 5)
        XCTAssertEqual(buffer.dropped, 2)

        // The byte bound, one message at a time from the front.
        let bytes = ForwardBuffer(maximumRecords: 100, maximumBytes: 10)
        XCTAssertEqual(bytes.append([[0, 0, 0, 0], [1, 1, 1, 1]]), 0)
        XCTAssertEqual(bytes.append([[2, 2, 2, 2]]), 1)
        XCTAssertEqual(messages(bytes.next(limit: 10, bytes: 100)), [[1, 1, 1, 1], [2, 2, 2, 2]])
    }

    /// A short write into a segment (a full disk) is cut back: the frames appended after it
    /// come back whole. The broken frame's length used to swallow them, and the rest of the
    /// segment was lost while counted as spilled.
    func testAShortWriteLeavesTheSegmentWhole() throws {
        let directory = try TemporaryDirectory()
        let spill = try ForwardSpill(directory: directory.file("s"), maximumBytes: 1 << 20)
        let message = { (byte: UInt8) in [UInt8](repeating: byte, count: 3000) }
        XCTAssertEqual(spill.append(message(1)), 0)
        XCTAssertEqual(withFileSizeLimit(4000) { spill.append(message(2)) }, 1, "refused: counted by the caller")
        for byte in UInt8(3)...10 { XCTAssertEqual(spill.append(message(byte)), 0) }
        spill.finishWriting()
        var back: [[UInt8]] = []
        while !spill.isEmpty { back += spill.takeOldest()?.messages ?? [] }
        XCTAssertEqual(back.map { $0.first ?? 0 }, [1] + Array(3...10))
        XCTAssertTrue(back.allSatisfy { $0.count == 3000 })
    }

    /// At close, what memory held goes to disk in segments of about 1 MiB like the others:
    /// written as one, everything the forward buffer held (up to 128 MiB and more) made one
    /// segment past what is read back, and the next start deleted it, every record lost.
    func testWhatMemoryHeldAtCloseIsKeptInSegmentsOfTheUsualSize() throws {
        let directory = try TemporaryDirectory()
        let spill = try ForwardSpill(directory: directory.file("s"), maximumBytes: 64 << 20)
        let messages = (0..<3000).map {
            [UInt8](repeating: UInt8($0 % 251), count: 1000) + withUnsafeBytes(of: $0) { Array($0) }
        }
        spill.prepend(messages)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.file("s"))
        XCTAssertGreaterThanOrEqual(names.count, 3)
        for name in names {
            let size = try XCTUnwrap(
                FileManager.default.attributesOfItem(atPath: directory.file("s/\(name)"))[.size] as? Int)
            XCTAssertLessThanOrEqual(size, (1 << 20) + 1012, name)
        }
        let again = try ForwardSpill(directory: directory.file("s"), maximumBytes: 64 << 20)
        XCTAssertEqual(again.records, 3000)
        var back: [[UInt8]] = []
        while !again.isEmpty { back += again.takeOldest()?.messages ?? [] }
        XCTAssertEqual(back, messages, "every one, in order")
    }

    /// A segment that is no longer the spill's own when it comes back (a link put in its place)
    /// is removed and its records counted lost, said on stderr; one that cannot be opened for
    /// want of descriptors stays for a later turn. Both were removed, their records neither
    /// sent nor counted.
    func testASegmentThatCannotBeReadBackIsCountedOrLeftForLater() throws {
        let directory = try TemporaryDirectory()
        let spill = try ForwardSpill(directory: directory.file("s"), maximumBytes: 64 << 20)
        let big = [UInt8](repeating: 9, count: 600 << 10)
        for _ in 0..<4 { XCTAssertEqual(spill.append(big), 0) }  // two segments of two
        spill.finishWriting()
        let segments = try FileManager.default.contentsOfDirectory(atPath: directory.file("s")).sorted()
        XCTAssertEqual(segments.count, 2)

        // Out of descriptors: nil, the segment and its records kept.
        var saved = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved), 0)
        var hoard: [Int32] = []
        var limited = saved
        limited.rlim_cur = rlim_t(dup(0))
        hoard.append(Int32(limited.rlim_cur))
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limited), 0)
        while case let fd = dup(0), fd >= 0 { hoard.append(fd) }
        let starved = spill.takeOldest()
        for fd in hoard { close(fd) }
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved), 0)
        XCTAssertNil(starved.map { _ in "taken" })
        XCTAssertEqual(spill.records, 4)

        // The first segment replaced by a link: its 2 records lost, counted, the link removed.
        let first = directory.file("s/\(segments[0])")
        XCTAssertEqual(unlink(first), 0)
        XCTAssertEqual(symlink(directory.file("elsewhere"), first), 0)
        let taken = try XCTUnwrap(spill.takeOldest())
        XCTAssertEqual(taken.messages.count, 0)
        XCTAssertEqual(taken.lost, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: first))
        XCTAssertTrue(
            spill.lastProblem?.contains("a symbolic link; its records are lost") == true, "\(spill.lastProblem ?? "")")
        XCTAssertEqual(spill.takeOldest()?.messages.count, 2)
        XCTAssertTrue(spill.isEmpty)
    }

    /// A segment number far outside the directory's own (a file copied in, a name made by
    /// hand): left alone. 2^64 - 1 made the next segment's number overflow, and the collector
    /// trapped at its first spill, at every start.
    func testASegmentNumberOutsideTheSpillsOwnIsLeftAlone() throws {
        let directory = try TemporaryDirectory()
        XCTAssertEqual(mkdir(directory.file("s"), 0o700), 0)
        var frame: [UInt8] = withUnsafeBytes(of: UInt32(3).littleEndian) { Array($0) }
        frame += [7, 7, 7]
        for name in ["18446744073709551615.spill", "0.spill"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: directory.file("s/\(name)"), contents: Data(frame)))
            XCTAssertEqual(chmod(directory.file("s/\(name)"), 0o600), 0)
        }
        let spill = try ForwardSpill(directory: directory.file("s"), maximumBytes: 1 << 20)
        XCTAssertEqual(spill.records, 0)
        XCTAssertEqual(spill.append([1, 2, 3]), 0)
        spill.prepend([[0]])
        XCTAssertEqual(spill.takeOldest()?.messages, [[0]])
        XCTAssertEqual(spill.takeOldest()?.messages, [[1, 2, 3]])
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.file("s/18446744073709551615.spill")))
    }

    /// With a spill directory, what does not fit in memory goes to disk in order, part of a
    /// batch included, and comes back as memory empties; at close memory goes to disk first.
    func testBufferSpillsPartOfABatchInOrder() throws {
        let directory = NSTemporaryDirectory() + "jb-spill-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spill = try ForwardSpill(directory: directory + "/s", maximumBytes: 1 << 20)
        let buffer = ForwardBuffer(maximumRecords: 4, maximumBytes: 1000, spill: spill)
        XCTAssertEqual(buffer.append([[1], [2], [3]]), 0)
        XCTAssertEqual(buffer.append([[4], [5], [6]]), 0)
        XCTAssertEqual(spill.records, 2)
        XCTAssertEqual(buffer.count, 6)
        var received: [UInt8] = []
        while let entry = buffer.next() {
            received += entry.bytes
            buffer.confirm(upTo: entry.id)
        }
        XCTAssertEqual(received, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(buffer.count, 0)
        XCTAssertEqual(buffer.dropped, 0)
        buffer.append([[7], [8], [9], [10], [11]])
        XCTAssertEqual(buffer.removeAll(), 0, "kept on disk, not lost")
        let again = ForwardBuffer(
            maximumRecords: 4, maximumBytes: 1000,
            spill: try ForwardSpill(directory: directory + "/s", maximumBytes: 1 << 20))
        received = []
        while let entry = again.next() {
            received += entry.bytes
            again.confirm(upTo: entry.id)
        }
        XCTAssertEqual(received, [7, 8, 9, 10, 11])
    }

    private func temporaryDirectory() -> String {
        NSTemporaryDirectory() + "jb-spill-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    }

    private func bytes(in directory: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: directory).reduce(0) { sum, name in
            let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            return sum + ((attributes[.size] as? NSNumber)?.intValue ?? 0)
        }
    }

    /// Past the spill's cap the oldest segments go: counted as dropped, to be reported to the
    /// receiver, the newest kept in order, and the directory never above the cap.
    func testSpillCapDropsTheOldestSegmentsCountedAndReported() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = root + "/s"
        let cap = 3 << 20
        let spill = try ForwardSpill(directory: directory, maximumBytes: cap)
        let buffer = ForwardBuffer(maximumRecords: 10, maximumBytes: 1 << 20, spill: spill)
        func message(_ number: Int) -> [UInt8] {
            withUnsafeBytes(of: UInt32(number).littleEndian) { Array($0) } + [UInt8](repeating: 0x61, count: 996)
        }
        var dropped = 0
        // 10,000 records of 1,000 bytes through a spill of 3 MiB.
        for batch in 0..<100 {
            dropped += buffer.append((0..<100).map { message(batch * 100 + $0) })
            XCTAssertLessThanOrEqual(try bytes(in: directory), cap)
        }
        XCTAssertGreaterThan(dropped, 0)
        XCTAssertEqual(buffer.dropped, dropped)
        XCTAssertEqual(buffer.takeUnreportedDrops(), dropped, "for the receiver's report")
        XCTAssertEqual(buffer.count + dropped, 10_000, "every record held or counted")
        var received: [Int] = []
        while let entry = buffer.next() {
            received.append(Int(entry.bytes[0]) | Int(entry.bytes[1]) << 8 | Int(entry.bytes[2]) << 16)
            buffer.confirm(upTo: entry.id)
        }
        // Memory's ten, then the newest from the spill, oldest first.
        XCTAssertEqual(received, Array(0..<10) + Array((10 + dropped)..<10_000))
        XCTAssertEqual(try bytes(in: directory), 0)
    }

    /// Segments a previous run left that cannot be read whole are skipped with a problem
    /// said, not a crash: a record cut short, a file not ours, an empty one; the spill goes
    /// on with new segments after them.
    func testACorruptOrTruncatedSpillSegmentAtStartIsSkippedAndSaid() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = root + "/s"
        do {
            let spill = try ForwardSpill(directory: directory, maximumBytes: 1 << 20)
            XCTAssertEqual(spill.append([1, 2, 3]) + spill.append([4, 5, 6]), 0)
            spill.finishWriting()
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        let first = try XCTUnwrap(names.first.flatMap { UInt64($0.dropLast(6)) })
        XCTAssertEqual(names, ["\(first).spill"])
        func segment(_ offset: UInt64, _ bytes: [UInt8]) {
            let path = "\(directory)/\(first + offset).spill"
            XCTAssertTrue(
                FileManager.default.createFile(
                    atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]))
        }
        segment(1, [3, 0, 0, 0, 7, 8, 9, 100, 0, 0, 0, 1, 2])  // a record, then one cut short
        segment(2, [0xFF, 0xFF, 0xFF, 0xFF, 1])  // a length no segment of ours has
        segment(3, [])  // made, then the collector died
        let spill = try ForwardSpill(directory: directory, maximumBytes: 1 << 20)
        XCTAssertEqual(spill.records, 3)
        XCTAssertTrue(
            spill.lastProblem?.contains("not a whole record") ?? false, spill.lastProblem ?? "no problem said")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(directory)/\(first + 2).spill"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(directory)/\(first + 3).spill"))
        XCTAssertEqual(spill.append([10]), 0, "a new segment after the last one")
        var all: [[UInt8]] = []
        while !spill.isEmpty { all += spill.takeOldest()?.messages ?? [] }
        XCTAssertEqual(all, [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]])
    }

    func testConfigurationKeys() throws {
        let configuration = try DaemonConfiguration.parse(
            "forward = \"relp://10.0.0.1:2514, syslog+tcp://logs:514\"\nforward_level = \"warning\"\n", source: "t.conf"
        )
        XCTAssertEqual(
            configuration.sinks.forward.map(\.description), ["relp://10.0.0.1:2514", "syslog+tcp://logs:514"])
        XCTAssertEqual(configuration.sinks.forwardLevel, .warning)
        XCTAssertThrowsError(try DaemonConfiguration.parse("\n forward = \"udp://x:1\"\n", source: "t.conf")) { error in
            let error = error as? ConfigurationError
            XCTAssertEqual(error?.key, "forward")
            XCTAssertEqual(error?.line, 2)
            XCTAssertEqual(error?.code, .badValue)
        }
        let badCA = try DaemonConfiguration.parse(
            "forward = \"syslog+tls://h:6514\"\nforward_ca = \"/nonexistent/ca.pem\"\nsocket = \"/tmp/x.sock\"\njournald = false\nfiles = false\n",
            source: "t.conf")
        let directory = try TemporaryDirectory()
        XCTAssertTrue(FileManager.default.createFile(atPath: directory.file("plain"), contents: nil))
        let badSpill = try DaemonConfiguration.parse(
            "forward = \"relp://h:2514\"\nforward_spill = \"\(directory.file("plain"))/spill\"\nsocket = \"\(directory.file("s.sock"))\"\njournald = false\nfiles = false\n",
            source: "t.conf"
        )
        XCTAssertThrowsError(try badSpill.validateEnvironment(source: "t.conf")) { error in
            XCTAssertEqual((error as? ConfigurationError)?.key, "forward_spill")
            XCTAssertEqual((error as? ConfigurationError)?.line, 2)
        }
        XCTAssertThrowsError(try badCA.validateEnvironment(source: "t.conf")) { error in
            XCTAssertEqual((error as? ConfigurationError)?.key, "forward_ca")
            XCTAssertEqual((error as? ConfigurationError)?.line, 2)
        }
        // A receiver's spill directory already there but not the collector's alone: check-config
        // says so (collect failed at start with exit 1, "cannot open the log files").
        let spill = directory.file("spill")
        let theirs = spill + "/relp-h-2514"
        XCTAssertEqual(mkdir(spill, 0o755), 0)
        XCTAssertEqual(mkdir(theirs, 0o777), 0)
        XCTAssertEqual(chmod(theirs, 0o777), 0)
        let shared = try DaemonConfiguration.parse(
            "forward = \"relp://h:2514\"\nforward_spill = \"\(spill)\"\nsocket = \"\(directory.file("s.sock"))\"\njournald = false\nfiles = false\n",
            source: "t.conf")
        XCTAssertEqual(ForwardSink.spillDirectory(of: shared.sinks.forward[0], in: spill), theirs)
        XCTAssertThrowsError(try shared.validateEnvironment(source: "t.conf")) { error in
            XCTAssertEqual((error as? ConfigurationError)?.key, "forward_spill")
            XCTAssertTrue("\(error)".contains("\(theirs) may be written by others (mode 777)"), "\(error)")
        }
        XCTAssertEqual(chmod(theirs, 0o700), 0)
        XCTAssertNoThrow(try shared.validateEnvironment(source: "t.conf"))
        if geteuid() == 0 {
            XCTAssertEqual(chown(theirs, 65534, 65534), 0)
            XCTAssertThrowsError(try shared.validateEnvironment(source: "t.conf")) { error in
                XCTAssertTrue("\(error)".contains("belongs to uid 65534"), "\(error)")
            }
        }
    }
}
