import Foundation
import JournalBridge
import JournalBridgeTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// rsyslog forwarding from another "host" into the TCP input: two network namespaces made by
/// the test and joined by a veth pair (private addresses that exist only there), rsyslog's
/// `omfwd` in one with RFC 5424 messages in both RFC 6587 framings, the collector in the other.
final class SyslogForwardingTests: XCTestCase {
    /// A network namespace with one end of a veth pair, removed at the end.
    final class Namespace {
        let name: String
        init(_ name: String) throws {
            self.name = name
            try run("/usr/sbin/ip", ["netns", "add", name])
        }
        deinit { _ = try? Run.command("/usr/sbin/ip", ["netns", "delete", name]) }
        func exec(_ command: [String]) -> [String] { ["/usr/sbin/ip", "netns", "exec", name] + command }
    }

    private static func run(_ executable: String, _ arguments: [String]) throws {
        let result = try Run.command(executable, arguments)
        guard result.status == 0 else {
            throw Run.Failure(description: "\(executable) \(arguments): \(result.stderrText)")
        }
    }
    private func run(_ executable: String, _ arguments: [String]) throws { try Self.run(executable, arguments) }

    func testRsyslogForwardsOverTCPInBothFramingsEveryMessageOnceWithItsFields() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else {
            throw XCTSkip("needs root and ip(8) for network namespaces")
        }
        XCTAssertTrue(
            FileManager.default.isExecutableFile(atPath: "/usr/sbin/rsyslogd"),
            "rsyslog is installed by scripts/bootstrap")
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let server = try Namespace("jbsl-srv-\(suffix)")
        let client = try Namespace("jbsl-cli-\(suffix)")
        let (serverLink, clientLink) = ("jbs\(suffix)", "jbc\(suffix)")
        try run(
            "/usr/sbin/ip",
            [
                "link", "add", serverLink, "netns", server.name, "type", "veth", "peer", "name", clientLink, "netns",
                client.name,
            ])
        for (namespace, link, address) in [
            (server, serverLink, "10.254.213.1/30"), (client, clientLink, "10.254.213.2/30"),
        ] {
            let ip = namespace.exec(["/usr/sbin/ip"])
            try run(ip[0], Array(ip.dropFirst()) + ["addr", "add", address, "dev", link])
            try run(ip[0], Array(ip.dropFirst()) + ["link", "set", link, "up"])
            try run(ip[0], Array(ip.dropFirst()) + ["link", "set", "lo", "up"])
        }
        let daemon = try SyslogInputTests.SyslogDaemon(within: server.exec([]), network: "10.254.213.1:5140")
        let tag = Journal.uniqueIdentifier("sl-rsyslog")
        var loggers: [String] = []
        for framing in ["octet-counted", "traditional"] {
            let work = daemon.directory.file("rsyslog-\(framing)")
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            let input = work + "/in.sock"
            try """
            global(workDirectory="\(work)")
            module(load="imuxsock" SysSock.Use="off")
            input(type="imuxsock" Socket="\(input)" RateLimit.Interval="0")
            action(type="omfwd" target="10.254.213.1" port="5140" protocol="tcp" TCP_Framing="\(framing)"
                   template="RSYSLOG_SyslogProtocol23Format")
            """.write(toFile: work + "/rsyslog.conf", atomically: true, encoding: .utf8)
            let command = client.exec([
                "/usr/sbin/rsyslogd", "-n", "-f", work + "/rsyslog.conf", "-i", work + "/rsyslog.pid",
            ])
            let rsyslog = try BackgroundProcess(command[0], Array(command.dropFirst()))
            XCTAssertTrue(eventually { FileManager.default.fileExists(atPath: input) }, rsyslog.stderrText)
            let lines = (0..<50).map { "\(framing) message \($0) with \"quotes\" and ]brackets[" }
            try lines.joined(separator: "\n").appending("\n").write(
                toFile: work + "/lines.txt", atomically: true, encoding: .utf8)
            let logger = try BackgroundProcess(
                "/usr/bin/logger",
                ["-u", input, "-d", "-i", "-p", "local2.warning", "-t", tag, "-f", work + "/lines.txt"])
            XCTAssertEqual(logger.wait(), 0, logger.stderrText)
            loggers.append(String(logger.pid))
            _ = try Journal.entries(["-t", tag, "--grep", framing], atLeast: 50, timeout: 30)
            rsyslog.signal(SIGTERM)
            rsyslog.wait()
        }
        let entries = try Journal.entries(identifier: tag, atLeast: 100, timeout: 30)
        XCTAssertEqual(entries.count, 100, "every message once")
        XCTAssertEqual(Set(entries.compactMap { $0["MESSAGE"] }).count, 100)
        for entry in entries {
            XCTAssertEqual(entry["PRIORITY"], "4")
            XCTAssertEqual(entry["SYSLOG_FACILITY"], "18")
            XCTAssertNotNil(entry["SYSLOG_HOSTNAME"])
            XCTAssertTrue(
                loggers.contains(entry["SYSLOG_PID"] ?? ""),
                "the PROCID rsyslog forwarded: \(entry["SYSLOG_PID"] ?? "none")")
            XCTAssertTrue(entry["JB_SYSLOG_PEER"]?.hasPrefix("10.254.213.2:") == true, "\(entry.fields.keys.sorted())")
            XCTAssertNil(entry["JB_PID"])
            XCTAssertNil(entry["JB_SYSLOG_ERROR"], entry["MESSAGE"] ?? "")
        }
        // rsyslog's %msg% of an RFC 3164 message keeps the space after the tag's colon: sent, so stored.
        XCTAssertTrue(entries.contains { $0["MESSAGE"] == " traditional message 7 with \"quotes\" and ]brackets[" })
        XCTAssertTrue(entries.contains { $0["MESSAGE"] == " octet-counted message 49 with \"quotes\" and ]brackets[" })
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        XCTAssertEqual(daemon.errorLines.filter { $0.contains(tag) }.count, 100)
    }
}
