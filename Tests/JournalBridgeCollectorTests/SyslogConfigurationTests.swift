@testable import JournalBridgeCollector
@testable import JournalBridgeDaemon
import XCTest

/// The syslog keys of the configuration file and the endpoints they name.
final class SyslogConfigurationTests: XCTestCase {
    func testKeysTakeCommaSeparatedListsOfEndpoints() throws {
        let configuration = try DaemonConfiguration.parse(
            """
            syslog_socket = "/run/a, /run/b"
            syslog_stream = "/run/s"
            syslog_tcp = "127.0.0.1:514,[::1]:6514"
            syslog_udp = ":514"
            syslog_max_message = 4096
            """, source: "test.conf"
        )
        XCTAssertEqual(
            configuration.syslogEndpoints,
            [
                .unixDatagram(path: "/run/a"), .unixDatagram(path: "/run/b"), .unixStream(path: "/run/s"),
                .tcp(host: "127.0.0.1", port: "514"), .tcp(host: "::1", port: "6514"), .udp(host: "", port: "514"),
            ])
        XCTAssertEqual(configuration.syslogMaxMessage, 4096)
        let inputs = configuration.syslogInputSettings(activated: [])
        XCTAssertEqual(inputs.map(\.maximumMessageBytes), Array(repeating: 4096, count: 6))
        XCTAssertEqual(inputs.first?.socketMode, 0o666, "open to every local user, as /dev/log")
        XCTAssertEqual(DaemonConfiguration().syslogEndpoints, [], "none unless configured")
    }

    func testBadValuesNameTheLineKeyAndProblem() {
        let cases: [(String, String)] = [
            ("syslog_tcp = \"localhost\"", "expected HOST:PORT"),
            ("syslog_udp = \"1.2.3.4:99999\"", "expected HOST:PORT"),
            ("syslog_socket = \"/\(String(repeating: "x", count: 200))\"", "a Unix socket path holds at most 107"),
            ("syslog_max_message = 10", "must be at least 480"),
            ("syslog_max_message = 9000000", "must be at most 8388608"),
            ("syslog_stream = 5", "expected a string"),
        ]
        for (line, problem) in cases {
            XCTAssertThrowsError(try DaemonConfiguration.parse("\n" + line + "\n", source: "t.conf"), line) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("t.conf:2"), text)
                XCTAssertTrue(text.contains(problem), text)
            }
        }
    }

    /// Sockets systemd passed, named by `FileDescriptorName=`, are the inputs of their kind;
    /// configured endpoints of another kind are still bound.
    func testActivatedSocketsReplaceTheConfiguredOnesOfTheirKind() throws {
        var configuration = DaemonConfiguration()
        XCTAssertNil(configuration.setSyslogEndpoints("syslog-socket", ["/run/own"]))
        XCTAssertNil(configuration.setSyslogEndpoints("syslog-tcp", ["127.0.0.1:514"]))
        let inputs = configuration.syslogInputSettings(activated: [
            (name: "syslog-socket", fd: 3), (name: "syslog-udp", fd: 4),
        ])
        XCTAssertEqual(inputs.map(\.endpoint.name), ["syslog-socket", "syslog-udp", "syslog-tcp"])
        XCTAssertEqual(inputs.map(\.listeningDescriptor), [3, 4, nil])
    }
}
