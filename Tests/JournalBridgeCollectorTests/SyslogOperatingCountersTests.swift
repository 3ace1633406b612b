import Foundation
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
@testable import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

/// A sink that keeps what it stores.
private final class CollectingSink: LogSink, @unchecked Sendable {
    let name = "collecting"
    private let lock = NSLock()
    private var stored: [LogRecord] = []

    func write(_ records: [LogRecord]) {
        lock.lock()
        defer { lock.unlock() }
        stored += records
    }

    var failedCount: Int { 0 }
    var records: [LogRecord] { lock.lock(); defer { lock.unlock() }; return stored }
}

final class SyslogOperatingCountersTests: XCTestCase {
    /// A syslog flooder beside a modest sender on one Unix datagram input, a rate limit
    /// configured: the modest one delivers all, the flooder is held to its burst (its warnings
    /// exempt), one summary says how many were suppressed, and the input's and the sources'
    /// counters add up (`received = rate_limited + routed`) in the snapshot and its JSON.
    func testASyslogFlooderIsHeldToItsBurstBesideAModestSourceAndCounted() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("log")
        var configuration = CollectorConfiguration(socketPath: directory.file("c.sock"))
        configuration.rateLimit = RateLimit(interval: 600, burst: 50, exemptLevel: .warning, key: .identifier)
        configuration.syslogInputs = [SyslogInputSettings(endpoint: .unixDatagram(path: path))]
        let sink = CollectingSink()
        let collector = Collector(configuration: configuration, routes: [SinkRoute(sink, minimumLevel: .trace)])
        try collector.start()

        let flooder = "sl-flood-\(getpid())"
        let modest = "sl-modest-\(getpid())"
        var messages: [String] = []
        for n in 0..<2000 {
            messages.append("<14>\(flooder): flood \(n)")
            if n % 100 == 0 { messages.append("<14>\(modest): modest \(n / 100)") }
            if n % 500 == 0 { messages.append("<12>\(flooder): warning \(n / 500)") }
        }
        try sendDatagrams(messages, to: path)
        collector.stop()

        let stored = sink.records
        XCTAssertEqual(stored.filter { $0.origin.identifier == modest }.count, 20, "the modest sender lost nothing")
        let flood = stored.filter { $0.origin.identifier == flooder }
        XCTAssertEqual(flood.filter { $0.level == .warning }.count, 4, "warnings are exempt")
        XCTAssertEqual(flood.filter { $0.level == .info }.count, 50, "the flooder is held to its burst")
        let summary = try XCTUnwrap(
            stored.first { $0.message.hasPrefix("suppressed ") && $0.message.contains(flooder) },
            "one summary for the flooder's interval")
        XCTAssertEqual(summary.metadata.first { $0.key == "suppressed" }?.value, "1950")

        let snapshot = collector.snapshot
        let input = try XCTUnwrap(snapshot.inputs.inputs["syslog-socket"])
        XCTAssertEqual(input.received, 2024)
        XCTAssertEqual(input.routed, 74)
        XCTAssertEqual(input.dropped[.rateLimited], 1950)
        XCTAssertEqual(input.received, input.routed + input.duplicates + (input.dropped[.rateLimited] ?? 0))
        let flooderCounts = try XCTUnwrap(
            snapshot.inputs.sources[SourceKey(uid: getuid(), unit: nil, identifier: flooder)])
        XCTAssertEqual(flooderCounts.received, 2004)
        XCTAssertEqual(flooderCounts.routed, 54)
        XCTAssertEqual(flooderCounts.dropped[.rateLimited], 1950)
        let modestCounts = try XCTUnwrap(
            snapshot.inputs.sources[SourceKey(uid: getuid(), unit: nil, identifier: modest)])
        XCTAssertEqual(modestCounts.received, 20)
        XCTAssertEqual(modestCounts.routed, 20)
        XCTAssertNil(modestCounts.dropped[.rateLimited])

        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(snapshot.json.utf8)) as? [String: Any])
        let inputs = try XCTUnwrap(json["inputs"] as? [String: [String: Any]])
        let syslog = try XCTUnwrap(inputs["syslog-socket"])
        XCTAssertEqual(syslog["received"] as? Int, 2024)
        XCTAssertEqual(syslog["routed"] as? Int, 74)
        XCTAssertEqual((syslog["dropped"] as? [String: Any])?["rate_limited"] as? Int, 1950)
        let sources = try XCTUnwrap(json["sources"] as? [[String: Any]])
        XCTAssertTrue(sources.contains { $0["identifier"] as? String == modest && $0["routed"] as? Int == 20 })
    }

    /// Sends each message as one datagram to the Unix socket at `path` (blocking: a full queue waits).
    private func sendDatagrams(_ messages: [String], to path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        for message in messages {
            let bytes = Array(message.utf8)
            let sent = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            XCTAssertEqual(sent, bytes.count, String(cString: strerror(errno)))
        }
    }
}
