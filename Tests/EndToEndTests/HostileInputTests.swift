import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

/// docs/reliability.md, scenario 7: the named hostile cases, through a real collector
/// into the real journald and files.
final class HostileInputTests: XCTestCase {
    func testNamedHostileRecordsArriveIntactInJournaldAndAsOneLineEachInFiles() throws {
        let fixture = try CollectorFixture(files: "h", journaldLevel: .trace)
        defer { fixture.stop() }
        let (directory, socket, collector) = (fixture.directory, fixture.socketPath, fixture.collector)
        let identifier = Journal.uniqueIdentifier("jb hostile:")  // ':' and a space in SYSLOG_IDENTIFIER

        let client = try RawClient(path: socket)
        client.send(.hello(Hello(session: .random(in: 1...UInt64.max), identifier: identifier)))
        _ = client.nextFrame()
        let trace = (1...5000).map { "    at frame \($0) (Module/File\($0).swift:\($0))" }.joined(separator: "\n")
        let hostileKeys = [
            MetadataField("_PID", "1"), MetadataField("_SYSTEMD_UNIT", "forged.service"),
            MetadataField("", "empty key"),
            MetadataField(String(repeating: "k", count: 70), "long key"), MetadataField("lowercase", "l"),
            MetadataField("9lives", "leading digit"), MetadataField("a=b", "equals"), MetadataField("c\nd", "newline"),
        ]
        let messages: [(String, [MetadataField])] = [
            ("nul\u{0}inside", []),
            ("one\r\nWARNING : forged\ntwo\rthree", []),
            ("\u{1B}[31mred\u{1B}[0m \u{1B}]0;title\u{07}", []),
            ("INVALIDUTF8", []),
            ("ends with a newline\n", []),
            ("hostile keys", hostileKeys),
            ("Traceback (most recent call last):\n" + trace, []),
        ]
        var encoder = FrameEncoder()
        encoder.encode(
            .batch(
                messages.enumerated().map { index, item in
                    LogRecord(
                        level: .error, message: item.0, metadata: item.1 + [MetadataField("case", "\(index)")],
                        sequence: UInt64(index + 1), origin: .unattributed)
                }))
        // Invalid UTF-8 cannot be a Swift String: put the bytes in on the wire.
        var bytes = encoder.bytes
        let marker = Array("INVALIDUTF8".utf8)
        if let at = (0...(bytes.count - marker.count)).first(where: { Array(bytes[$0..<$0 + marker.count]) == marker })
        {
            bytes.replaceSubrange(
                at..<at + marker.count, with: [0x61, 0xFF, 0xFE, 0x62, 0xC3, 0x28, 0x7A, 0x7A, 0x7A, 0x7A, 0x7A])
        }
        client.send(bytes)
        guard case .ack(7)? = client.nextFrame() else { return XCTFail("not acknowledged") }

        let entries = try Journal.entries(identifier: identifier, atLeast: 7)
        XCTAssertEqual(entries.count, 7)
        let byCase = Dictionary(uniqueKeysWithValues: entries.map { ($0["CASE"]!, $0) })
        XCTAssertEqual(byCase["0"]?.fields["MESSAGE"], Array("nul\u{0}inside".utf8))
        XCTAssertEqual(byCase["1"]?["MESSAGE"], "one\r\nWARNING : forged\ntwo\rthree")
        XCTAssertEqual(byCase["2"]?.fields["MESSAGE"], Array("\u{1B}[31mred\u{1B}[0m \u{1B}]0;title\u{07}".utf8))
        XCTAssertEqual(
            byCase["3"]?.fields["MESSAGE"], [0x61, 0xFF, 0xFE, 0x62, 0xC3, 0x28, 0x7A, 0x7A, 0x7A, 0x7A, 0x7A],
            "invalid UTF-8 reaches journald as sent, like logger(1)"
        )
        XCTAssertEqual(byCase["4"]?["MESSAGE"], "ends with a newline\n")
        XCTAssertEqual(
            byCase["6"]?.fields["MESSAGE"]?.count, Array(("Traceback (most recent call last):\n" + trace).utf8).count)
        let keys = try XCTUnwrap(byCase["5"])
        XCTAssertEqual(keys["PID"], "1")
        XCTAssertEqual(keys["SYSTEMD_UNIT"], "forged.service")
        XCTAssertEqual(keys["_PID"], String(getpid()), "journald's trusted _PID is the collector's, not forged")
        XCTAssertNotEqual(keys["_SYSTEMD_UNIT"], "forged.service")
        XCTAssertEqual(keys[String(repeating: "K", count: 64)], "long key")
        XCTAssertEqual(keys["LOWERCASE"], "l")
        XCTAssertEqual(keys["META_9LIVES"], "leading digit")
        XCTAssertEqual(keys.repeated["A_B"]?.map { String(decoding: $0, as: UTF8.self) }, ["equals"])
        XCTAssertEqual(keys["C_D"], "newline")
        XCTAssertEqual(keys["SYSLOG_IDENTIFIER"], identifier)
        XCTAssertEqual(keys["SYSLOG_PID"], String(getpid()), "SO_PEERCRED: this test process sent it")

        collector.stop()
        let lines = directory.lines("h_error.log")
        XCTAssertEqual(lines.count, 7, "one line per record")
        XCTAssertFalse(lines.contains { $0.hasPrefix("WARNING") }, "no forged line")
        XCTAssertFalse(lines.joined().contains("\u{1B}"), "no raw escape reaches the file")
        XCTAssertTrue(lines[1].hasSuffix("one\\r\\nWARNING : forged\\ntwo\\rthree"))
        XCTAssertTrue(
            lines[3].hasSuffix(" : a\\xff\\xfeb\\xc3(zzzzz"), "invalid bytes escaped in the file: \(lines[3])")
    }

    /// A record's time is any 64-bit number on the wire. The lowest ones trapped the file
    /// sink's and the forward sink's clocks (`micros - 999_999` overflowed): one frame from any
    /// client stopped the collector. Now each sink writes them, and journald has them as sent.
    func testAnyTimeARecordCarriesIsWrittenByEverySink() throws {
        let fixture = try CollectorFixture(
            files: "t", journaldLevel: .trace,
            sinks: { sinks in
                // Formatted as it is buffered; no receiver is needed for that.
                sinks.forward = [try ForwardDestination(parsing: "syslog+tcp://127.0.0.1:9")]
                sinks.forwardLevel = .trace
            })
        defer { fixture.stop() }
        let identifier = Journal.uniqueIdentifier("jb-time")
        let client = try RawClient(path: fixture.socketPath)
        client.send(.hello(Hello(session: .random(in: 1...UInt64.max), identifier: identifier)))
        _ = client.nextFrame()
        let times: [Int64] = [Int64.min, Int64.min + 1, -1, 0, Int64.max]
        client.send(
            .batch(
                times.enumerated().map { index, micros in
                    LogRecord(
                        level: .error, timestampMicros: micros, message: "time \(index)", sequence: UInt64(index + 1),
                        origin: .unattributed)
                }))
        guard case .ack(5)? = client.nextFrame() else { return XCTFail("not acknowledged") }
        let entries = try Journal.entries(identifier: identifier, atLeast: 5)
        XCTAssertEqual(
            Set(entries.compactMap { $0["JB_TIMESTAMP"] }), Set(times.map(String.init)), "journald has each as sent")
        fixture.collector.stop()
        let lines = fixture.directory.lines("t_error.log")
        XCTAssertEqual(lines.count, 5, "\(lines)")
        for index in times.indices {
            XCTAssertTrue(lines.contains { $0.hasSuffix(" : time \(index)") }, "\(lines)")
        }
    }

    func testThousandsOfIdleConnectionsAtTheDescriptorLimit() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("c.sock")
        // The daemon gets 256 descriptors; 400 idle clients connect.
        let daemon = try BackgroundProcess(
            "/bin/sh",
            [
                "-c", "ulimit -n 256 && exec \"$0\" \"$@\"", Run.journalBridge, "collect", "--socket", socket,
                "--base", directory.file("fd"), "--no-journald", "--max-bytes", "0",
            ]
        )
        defer {
            daemon.signal(SIGTERM)
            daemon.wait()
        }
        XCTAssertTrue(eventually { daemon.stderrText.contains("collecting on") }, daemon.stderrText)
        var clients: [RawClient] = []
        var welcomed = 0
        var refused = 0
        for index in 0..<400 {
            let client = try RawClient(path: socket)
            client.send(.hello(Hello(session: UInt64(index + 1), identifier: "idle")))
            if case .welcome? = client.nextFrame() { welcomed += 1 } else { refused += 1 }
            clients.append(client)
        }
        XCTAssertGreaterThan(welcomed, 200)
        XCTAssertGreaterThan(refused, 100, "past the limit new connections are refused")
        // The first connections still work.
        clients[0].send(.batch([LogRecord(level: .error, message: "still here", sequence: 1, origin: .unattributed)]))
        guard case .ack(1)? = clients[0].nextFrame() else { return XCTFail("an existing connection stopped working") }
        clients.removeAll()
        // Once descriptors are free again, new clients are accepted.
        XCTAssertTrue(
            eventually {
                guard let client = try? RawClient(path: socket) else { return false }
                client.send(.hello(Hello(session: 9999, identifier: "later")))
                if case .welcome? = client.nextFrame() { return true }
                return false
            })
        XCTAssertTrue(
            directory.lines("fd_error.log").contains {
                $0.contains("refusing new connections: out of file descriptors")
            })
        print("RELIABILITY scenario=fd-limit limit=256 idle_connections=400 welcomed=\(welcomed) refused=\(refused)")
    }
}
