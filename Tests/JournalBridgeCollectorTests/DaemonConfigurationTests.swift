@testable import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

final class DaemonConfigurationTests: XCTestCase {
    private func parse(_ text: String) throws -> DaemonConfiguration {
        try DaemonConfiguration.parse(text, source: "test.conf")
    }

    private func assertError(_ text: String, _ code: ConfigurationError.Code, key: String?, line: Int?, mentions: String,
                             file: StaticString = #filePath, lineNumber: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: lineNumber) { error in
            guard let error = error as? ConfigurationError else { return XCTFail("\(error)", file: file, line: lineNumber) }
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: lineNumber)
            XCTAssertEqual(error.key, key, file: file, line: lineNumber)
            XCTAssertEqual(error.line, line, file: file, line: lineNumber)
            XCTAssertTrue(error.description.contains(mentions), error.description, file: file, line: lineNumber)
            if let key { XCTAssertTrue(error.description.contains(key), file: file, line: lineNumber) }
        }
    }

    func testEveryKeyIsRead() throws {
        let configuration = try parse("""
            # the shipped file, roughly
            socket = "/run/x/x.sock"   # trailing comment
            socket_mode = "0600"
            socket_group = "adm"
            base = "/var/log/x/x"
            error_file_level = "error"
            debug_file_level = "info"
            journald_level = "notice"
            console = true
            console_level = "critical"
            max_bytes = 1_048_576
            backup_count = 3
            identifier = "anonymous"
            sink_queue_capacity = 1000
            journald_overflow = "drop"
            max_connections = 10
            file_format = "%(asctime)s %(levelname)s %(message)s # not a comment"
            console_format = "%(message)s"
            """)
        XCTAssertEqual(configuration.socketPath, "/run/x/x.sock")
        XCTAssertEqual(configuration.socketMode, 0o600)
        XCTAssertEqual(configuration.socketGroup, "adm")
        XCTAssertEqual(configuration.sinks.base, "/var/log/x/x")
        XCTAssertEqual(configuration.sinks.errorFileLevel, .error)
        XCTAssertEqual(configuration.sinks.debugFileLevel, .info)
        XCTAssertEqual(configuration.sinks.journaldLevel, .notice)
        XCTAssertEqual(configuration.sinks.consoleLevel, .critical)
        XCTAssertEqual(configuration.sinks.maxBytes, 1_048_576)
        XCTAssertEqual(configuration.sinks.backupCount, 3)
        XCTAssertEqual(configuration.defaultIdentifier, "anonymous")
        XCTAssertEqual(configuration.sinkQueueCapacity, 1000)
        XCTAssertEqual(configuration.journaldOverflow, .drop)
        XCTAssertEqual(configuration.maxConnections, 10)
        XCTAssertEqual(configuration.sinks.fileFormat.template, "%(asctime)s %(levelname)s %(message)s # not a comment")
    }

    func testDefaultsKeepTheConsoleOffAndSinksOnOff() throws {
        XCTAssertNil(try parse("").sinks.consoleLevel, "under systemd stderr is journald already")
        let off = try parse("journald = false\nfiles = false\n")
        XCTAssertNil(off.sinks.journaldLevel)
        XCTAssertNil(off.sinks.errorFileLevel)
        XCTAssertNil(off.sinks.debugFileLevel)
        XCTAssertEqual(try parse("console = true").sinks.consoleLevel, .info)
    }

    func testUnknownKey() {
        assertError("base = \"/tmp/x\"\ncolour = \"red\"\n", .unknownKey, key: "colour", line: 2, mentions: "known keys: backup_count")
    }

    func testWrongTypes() {
        assertError("max_bytes = \"big\"", .wrongType, key: "max_bytes", line: 1, mentions: "expected an integer, got a string")
        assertError("console = 1", .wrongType, key: "console", line: 1, mentions: "expected true or false")
        assertError("base = 3", .wrongType, key: "base", line: 1, mentions: "expected a string")
    }

    func testBadValues() {
        assertError("journald_level = \"loud\"", .badValue, key: "journald_level", line: 1, mentions: "\"loud\" is not a level")
        assertError("max_bytes = -1", .badValue, key: "max_bytes", line: 1, mentions: "at least 0")
        assertError("socket_mode = \"rw\"", .badValue, key: "socket_mode", line: 1, mentions: "octal")
        assertError("journald_overflow = \"maybe\"", .badValue, key: "journald_overflow", line: 1, mentions: "\"block\" or \"drop\"")
        assertError("file_format = \"%(nope)s\"", .badValue, key: "file_format", line: 1, mentions: "unknown field 'nope'")
        assertError("base = \"\"", .badValue, key: "base", line: 1, mentions: "empty path")
    }

    func testSyntax() {
        assertError("just words", .syntax, key: nil, line: 1, mentions: "expected 'key = value'")
        assertError("base = /tmp/unquoted", .syntax, key: "base", line: 1, mentions: "quoted string")
        assertError("\n\nbase = \"a\"b\"", .syntax, key: "base", line: 3, mentions: "\\\"")
        assertError("base = \"a\"\nbase = \"b\"", .duplicateKey, key: "base", line: 2, mentions: "line 1")
    }

    func testUnwritableLogDirectoryAndUnknownGroup() throws {
        let directory = try TemporaryDirectory()
        let readOnly = directory.file("ro")
        try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: false)
        chmod(readOnly, 0o500)
        defer { chmod(readOnly, 0o700) }
        var configuration = try parse("base = \"\(readOnly)/sub/app\"")
        if getuid() != 0 {
            XCTAssertThrowsError(try configuration.validateEnvironment(source: "t")) {
                XCTAssertEqual(($0 as? ConfigurationError)?.code, .unwritable)
            }
        }
        configuration = try parse("base = \"/etc/passwd/app\"")
        XCTAssertThrowsError(try configuration.validateEnvironment(source: "t")) {
            XCTAssertEqual(($0 as? ConfigurationError)?.code, .unwritable)
            XCTAssertEqual(($0 as? ConfigurationError)?.key, "base")
            XCTAssertTrue("\($0)".contains("not a directory"), "\($0)")
        }
        configuration = try parse("socket_group = \"no-such-group-here\"")
        XCTAssertThrowsError(try configuration.validateEnvironment(source: "t")) {
            XCTAssertEqual(($0 as? ConfigurationError)?.key, "socket_group")
        }
    }

    func testTheShippedConfigurationIsValid() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../debian/journal-bridge.conf").standardized.path
        let configuration = try DaemonConfiguration.load(path: shipped)
        XCTAssertEqual(configuration.socketPath, "/run/journal-bridge/journal-bridge.sock")
        XCTAssertEqual(configuration.sinks.base, "/var/log/journal-bridge/journal-bridge")
    }
}
