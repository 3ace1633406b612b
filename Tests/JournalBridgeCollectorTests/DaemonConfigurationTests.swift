@testable import JournalBridgeCollector
@testable import JournalBridgeDaemon
import JournalBridgeTestSupport
import Logging
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class DaemonConfigurationTests: XCTestCase {
    private func parse(_ text: String) throws -> DaemonConfiguration {
        try DaemonConfiguration.parse(text, source: "test.conf")
    }

    private func assertError(
        _ text: String, _ code: ConfigurationError.Code, key: String?, line: Int?, mentions: String,
        file: StaticString = #filePath, lineNumber: UInt = #line
    ) {
        XCTAssertThrowsError(try parse(text), file: file, line: lineNumber) { error in
            guard let error = error as? ConfigurationError else {
                return XCTFail("\(error)", file: file, line: lineNumber)
            }
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: lineNumber)
            XCTAssertEqual(error.key, key, file: file, line: lineNumber)
            XCTAssertEqual(error.line, line, file: file, line: lineNumber)
            XCTAssertTrue(error.description.contains(mentions), error.description, file: file, line: lineNumber)
            if let key { XCTAssertTrue(error.description.contains(key), file: file, line: lineNumber) }
        }
    }

    func testEveryKeyIsRead() throws {
        let configuration = try parse(
            """
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
        XCTAssertEqual(configuration.sinks.journaldOverflow, .drop)
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

    /// A sink turned off stays off whatever line its level is on: the shipped file sets
    /// `journald_level` on the line after `journald`, and `journald = false` there did nothing.
    func testASinkTurnedOffStaysOffWhereverItsLevelStands() throws {
        let off = try parse(
            "journald = false\njournald_level = \"trace\"\nfiles = false\nerror_file_level = \"warning\"\ndebug_file_level = \"debug\"\n"
        )
        XCTAssertNil(off.sinks.journaldLevel)
        XCTAssertNil(off.sinks.errorFileLevel)
        XCTAssertNil(off.sinks.debugFileLevel)
        let on = try parse("journald = true\njournald_level = \"notice\"\n")
        XCTAssertEqual(on.sinks.journaldLevel, .notice)
    }

    /// Numbers `collect` adds to, multiplies or makes nanoseconds of have an upper bound, so that
    /// check-config refuses what would overflow in `collect` (each of these passed check-config
    /// and then stopped the daemon with SIGILL, or check-config itself).
    func testNumbersThatWouldOverflowAreRefusedWithTheirBound() {
        for key in ["metrics_interval", "rate_limit_interval", "forward_drain_seconds"] {
            assertError("\(key) = 86401\n", .badValue, key: key, line: 1, mentions: "must be at most 86400")
        }
        for key in ["sink_queue_capacity", "forward_buffer_bytes", "max_connections", "journald_backlog"] {
            assertError(
                "\(key) = 9223372036854775807\n", .badValue, key: key, line: 1,
                mentions: "must be at most 1099511627776")
        }
        XCTAssertEqual(try? parse("metrics_interval = 86400\n").metricsInterval, 86400)
        // Two receivers of the largest buffer: refused against the memory limit, not an overflow.
        let forward = try? parse(
            "forward = \"syslog+tcp://127.0.0.1:9, syslog+tcp://127.0.0.1:10\"\nforward_buffer_bytes = 1099511627776\n")
        XCTAssertEqual(forward?.forwardBufferBytes, 2 << 40)
        XCTAssertThrowsError(try forward?.checkMemory(source: "test.conf"))
    }

    func testUnknownKey() {
        assertError(
            "base = \"/tmp/x\"\ncolour = \"red\"\n", .unknownKey, key: "colour", line: 2,
            mentions: "known keys: backup_count")
    }

    func testWrongTypes() {
        assertError(
            "max_bytes = \"big\"", .wrongType, key: "max_bytes", line: 1, mentions: "expected an integer, got a string")
        assertError("console = 1", .wrongType, key: "console", line: 1, mentions: "expected true or false")
        assertError("base = 3", .wrongType, key: "base", line: 1, mentions: "expected a string")
    }

    func testBadValues() {
        assertError(
            "journald_level = \"loud\"", .badValue, key: "journald_level", line: 1, mentions: "\"loud\" is not a level")
        assertError("max_bytes = -1", .badValue, key: "max_bytes", line: 1, mentions: "at least 0")
        assertError("socket_mode = \"rw\"", .badValue, key: "socket_mode", line: 1, mentions: "octal")
        assertError(
            "journald_overflow = \"maybe\"", .badValue, key: "journald_overflow", line: 1,
            mentions: "\"block\" or \"drop\"")
        assertError(
            "file_format = \"%(nope)s\"", .badValue, key: "file_format", line: 1, mentions: "unknown field 'nope'")
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

    /// The forward buffers count within `memory_limit`: the collector's own budget is what they
    /// leave, and they may take at most half of it; past that, the line that did it is named.
    func testForwardBuffersCountWithinTheMemoryLimit() throws {
        let directory = try TemporaryDirectory()
        let base = "base = \"\(directory.file("app"))\"\n"
        let one = try parse(base + "forward = \"syslog+tcp://127.0.0.1:514\"")
        XCTAssertNoThrow(try one.validateEnvironment(source: "t"))
        XCTAssertEqual(one.collectorMemoryLimit, 256 * 1024 * 1024 - 64 * 1024 * 1024, "the default buffer set aside")
        let three = try parse(
            base + "forward = \"syslog+tcp://127.0.0.1:514, syslog+tcp://127.0.0.1:515, relp://127.0.0.1:2514\"")
        XCTAssertThrowsError(try three.validateEnvironment(source: "t")) {
            let error = $0 as? ConfigurationError
            XCTAssertEqual(error?.code, .badValue)
            XCTAssertEqual(error?.key, "forward", "the receivers' line: the sizes are the defaults")
            XCTAssertEqual(error?.line, 2)
            XCTAssertTrue("\($0)".contains("3 receiver(s) x forward_buffer_bytes 67108864"), "\($0)")
        }
        let big = try parse(
            base + "memory_limit = \"64M\"\nforward = \"relp://127.0.0.1:2514\"\nforward_buffer_bytes = 40_000_000\n")
        XCTAssertThrowsError(try big.validateEnvironment(source: "t")) {
            XCTAssertEqual(($0 as? ConfigurationError)?.key, "forward_buffer_bytes")
            XCTAssertEqual(($0 as? ConfigurationError)?.line, 4)
        }
        let fits = try parse(
            base + "memory_limit = \"64M\"\nforward = \"relp://127.0.0.1:2514\"\nforward_buffer_bytes = 16_777_216\n")
        XCTAssertNoThrow(try fits.validateEnvironment(source: "t"))
        XCTAssertEqual(fits.collectorMemoryLimit, 48 * 1024 * 1024)
    }

    func testCRLFLineEndingsAndALeadingByteOrderMarkAreAccepted() throws {
        let configuration = try parse(
            "\u{FEFF}# saved on Windows\r\nbase = \"/var/log/x/x\"\r\nmax_bytes = 5\r\n\r\nidentifier = \"a b\"\r\n")
        XCTAssertEqual(configuration.sinks.base, "/var/log/x/x")
        XCTAssertEqual(configuration.sinks.maxBytes, 5)
        XCTAssertEqual(configuration.defaultIdentifier, "a b", "the carriage return is not part of the value")
        assertError("base = \"/x\"\r\ncolour = 1\r\n", .unknownKey, key: "colour", line: 2, mentions: "known keys")
    }

    func testInvisibleAndControlCharactersAreShownEscaped() {
        // A byte order mark anywhere but at the start is a character of the key: shown, not invisible.
        assertError(
            "base = \"/x\"\n\u{FEFF}max_bytes = 1\n", .syntax, key: nil, line: 2,
            mentions: "bad key \"\\u{FEFF}max_bytes\"")
        assertError("ba\u{1B}[31mse = 1", .syntax, key: nil, line: 1, mentions: "\"ba\\x1B[31mse\"")
        XCTAssertThrowsError(try parse("ba\u{1B}[31mse = 1")) {
            XCTAssertFalse("\($0)".unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "\($0)")
        }
        XCTAssertThrowsError(
            try ConfigurationFile(
                bytes: Array("base = \"/tmp/".utf8) + [0xFF, 0x0A] + Array("x\"\n".utf8), source: "t")
        ) {
            let error = $0 as? ConfigurationError
            XCTAssertEqual(error?.line, 1)
            XCTAssertTrue("\($0)".contains("not valid UTF-8: \"base = \"/tmp/\\xFF\""), "\($0)")
        }
        XCTAssertEqual(
            ConfigurationError(.badValue, key: "k", source: "a\nb", line: 3, "x\ty\u{202E}").description,
            "a\\nb:3: k: bad value: x\\ty\\u{202E}")
    }

    func testTheFileMustBeARegularFileOfBoundedSize() throws {
        let directory = try TemporaryDirectory()
        let fifo = directory.file("fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // Each of these used to read as an empty file (a directory), hang (a FIFO) or eat memory (/dev/zero).
        for (path, kind) in [(directory.path, "a directory"), (fifo, "a FIFO"), ("/dev/zero", "a character device")] {
            XCTAssertThrowsError(try DaemonConfiguration.load(path: path)) {
                XCTAssertEqual(($0 as? ConfigurationError)?.code, .unreadable)
                XCTAssertEqual(($0 as? ConfigurationError)?.source, path)
                XCTAssertTrue("\($0)".contains("\(kind), not a regular file"), "\($0)")
            }
        }
        let big = directory.file("big.conf")
        let padding = [UInt8](repeating: UInt8(ascii: "#"), count: ConfigurationFile.maximumSize) + [0x0A]
        XCTAssertTrue(FileManager.default.createFile(atPath: big, contents: Data(padding)))
        XCTAssertThrowsError(try DaemonConfiguration.load(path: big)) {
            XCTAssertTrue("\($0)".contains("larger than 1048576 bytes"), "\($0)")
        }
        let fits = directory.file("fits.conf")
        let setting = Array("\nmax_bytes = 7".utf8)
        let exact =
            [UInt8](repeating: UInt8(ascii: "#"), count: ConfigurationFile.maximumSize - setting.count) + setting
        XCTAssertTrue(FileManager.default.createFile(atPath: fits, contents: Data(exact)))
        XCTAssertEqual(try DaemonConfiguration.load(path: fits).sinks.maxBytes, 7, "exactly 1 MiB is read")
        let link = directory.file("link.conf")
        XCTAssertEqual(symlink(fits, link), 0)
        XCTAssertEqual(try DaemonConfiguration.load(path: link).sinks.maxBytes, 7, "a link to a regular file is fine")
    }

    /// The file decides where the collector (maybe root) writes and listens: one that anyone may
    /// write, or another user's, is refused (exit 78 in `collect` and `check-config`).
    func testAConfigurationAnyoneMayWriteOrAnotherUsersIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("jb.conf")
        try "max_bytes = 7\n".write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(path, 0o666), 0)
        XCTAssertThrowsError(try DaemonConfiguration.load(path: path)) {
            XCTAssertEqual(($0 as? ConfigurationError)?.code, .unreadable)
            XCTAssertTrue("\($0)".contains("anyone may write it (mode 666): chmod o-w \(path)"), "\($0)")
        }
        XCTAssertEqual(chmod(path, 0o664), 0)
        XCTAssertEqual(try DaemonConfiguration.load(path: path).sinks.maxBytes, 7, "group-writable is the owner's call")
        guard geteuid() == 0 else { return }
        XCTAssertEqual(chown(path, 65534, 65534), 0)
        XCTAssertThrowsError(try DaemonConfiguration.load(path: path)) {
            XCTAssertTrue("\($0)".contains("it belongs to uid 65534"), "\($0)")
        }
        let check = try Run.journalBridge(["check-config", "--config", path])
        XCTAssertEqual(check.status, 78, check.stderrText)
    }

    /// `check-config` refuses what `collect` would: a base, a socket or a spill directory
    /// reached through a link another user owns (`FileDescriptorIO.openDirectory`), exit 78.
    func testAPathThroughALinkAnotherUserOwnsIsRefused() throws {
        let directory = try TemporaryDirectory()
        XCTAssertEqual(mkdir(directory.file("elsewhere"), 0o755), 0)
        let link = directory.file("logs")
        XCTAssertEqual(symlink(directory.file("elsewhere"), link), 0)
        XCTAssertEqual(lchown(link, 65534, 65534), 0, "the tests run as root")
        let (base, socket) = ("base = \"\(directory.file("app"))\"", "socket = \"\(directory.file("b.sock"))\"")
        let text = [
            "base = \"\(link)/app\"\n\(socket)", "\(base)\nsocket = \"\(link)/b.sock\"",
            "\(base)\n\(socket)\nforward = \"syslog+tcp://127.0.0.1:9\"\nforward_spill = \"\(link)/spill\"",
        ]
        for (key, lines) in zip(["base", "socket", "forward_spill"], text) {
            let config = directory.file("\(key).conf")
            try "\(lines)\n".write(toFile: config, atomically: false, encoding: .utf8)
            let check = try Run.journalBridge(["check-config", "--config", config])
            XCTAssertEqual(check.status, 78, check.stderrText)
            XCTAssertTrue(check.stderrText.contains("\(key): "), check.stderrText)
            XCTAssertTrue(check.stderrText.contains("\(link) is a symbolic link of uid 65534"), check.stderrText)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.file("elsewhere")), [])
    }

    func testValidationProbesThatFilesCanBeCreatedAndNamesTheLine() throws {
        // /proc takes no new files, yet access(2) says it is writable to root: only a real creation tells.
        let configuration = try parse("identifier = \"x\"\nbase = \"/proc/journal-bridge-test/app\"")
        XCTAssertThrowsError(try configuration.validateEnvironment(source: "t.conf")) {
            let error = $0 as? ConfigurationError
            XCTAssertEqual(error?.code, .unwritable)
            XCTAssertEqual(error?.key, "base")
            XCTAssertEqual(error?.line, 2)
            XCTAssertTrue(
                "\($0)".hasPrefix("t.conf:2: base: cannot write there: cannot create a file in /proc: "), "\($0)")
        }
        XCTAssertNoThrow(
            try parse("files = false\nbase = \"/proc/x/app\"").validateEnvironment(source: "t"), "no files, no check")

        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(
            atPath: directory.file("app_debug.log"), withIntermediateDirectories: false)
        XCTAssertThrowsError(try parse("base = \"\(directory.file("app"))\"").validateEnvironment(source: "t")) {
            XCTAssertTrue("\($0)".contains("app_debug.log: it is a directory, not a regular file"), "\($0)")
        }
        XCTAssertTrue(symlink("/etc/passwd", directory.file("b_error.log")) == 0)
        XCTAssertThrowsError(try parse("base = \"\(directory.file("b"))\"").validateEnvironment(source: "t")) {
            XCTAssertTrue("\($0)".contains("b_error.log: it is a symbolic link, not a regular file"), "\($0)")
        }
        XCTAssertNoThrow(try parse("base = \"\(directory.file("new/sub/c"))\"").validateEnvironment(source: "t"))
        XCTAssertEqual(directory.names(), ["app_debug.log", "b_error.log"], "the check leaves nothing behind")
    }

    func testTheSocketPathMustFitAndNotBeAnotherKindOfFile() throws {
        let long = "/tmp/" + String(repeating: "s", count: 120) + ".sock"
        XCTAssertThrowsError(try parse("files = false\nsocket = \"\(long)\"").validateEnvironment(source: "t")) {
            XCTAssertEqual(($0 as? ConfigurationError)?.key, "socket")
            XCTAssertEqual(($0 as? ConfigurationError)?.line, 2)
            XCTAssertTrue("\($0)".contains("at most 99"), "\($0)")
        }
        // 100 bytes fit a socket address, but not with the control channel's ".control" after them.
        let hundred = "/tmp/" + String(repeating: "c", count: 90) + ".sock"
        XCTAssertThrowsError(try parse("files = false\nsocket = \"\(hundred)\"").validateEnvironment(source: "t")) {
            XCTAssertTrue("\($0)".contains("at most 99 (and \(hundred).control, the control channel's)"), "\($0)")
        }
        let directory = try TemporaryDirectory()
        XCTAssertTrue(FileManager.default.createFile(atPath: directory.file("plain"), contents: nil))
        XCTAssertThrowsError(
            try parse("files = false\nsocket = \"\(directory.file("plain"))\"").validateEnvironment(source: "t")
        ) {
            XCTAssertTrue("\($0)".contains("plain is a regular file, not a socket"), "\($0)")
        }
        // A socket directory anyone may write: refused here, as `collect` refuses to bind there
        // (it passed check-config, and collect exited 1).
        let open = directory.file("open")
        XCTAssertEqual(mkdir(open, 0o777), 0)
        XCTAssertEqual(chmod(open, 0o777), 0)
        XCTAssertThrowsError(try parse("files = false\nsocket = \"\(open)/s.sock\"").validateEnvironment(source: "t")) {
            XCTAssertEqual(($0 as? ConfigurationError)?.key, "socket")
            XCTAssertTrue("\($0)".contains("is writable by others and not sticky"), "\($0)")
        }
        // The syslog inputs' sockets by the same rule, named by their own keys (collect said
        // "Address already in use" of the wrong socket, and exited 1, not 78).
        for key in ["syslog_socket", "syslog_stream"] {
            XCTAssertThrowsError(
                try parse("files = false\n\(key) = \"\(directory.file("plain"))\"").validateEnvironment(source: "t")
            ) {
                XCTAssertEqual(($0 as? ConfigurationError)?.key, key)
                XCTAssertEqual(($0 as? ConfigurationError)?.line, 2)
                XCTAssertTrue("\($0)".contains("plain is a regular file, not a socket"), "\($0)")
            }
            XCTAssertThrowsError(
                try parse("files = false\n\(key) = \"\(directory.file("plain"))/sub/s.sock\"")
                    .validateEnvironment(source: "t")
            ) {
                XCTAssertEqual(($0 as? ConfigurationError)?.key, key)
                XCTAssertTrue("\($0)".contains("not a directory"), "\($0)")
            }
        }
    }

    func testRateLimitAndMetricsKeys() throws {
        let configuration = try parse(
            """
            rate_limit_interval = 5
            rate_limit_burst = 200
            rate_limit_key = "identifier"
            rate_limit_severity = "none"
            metrics_textfile = "/var/lib/x.prom"
            metrics_interval = 3
            """)
        XCTAssertEqual(configuration.rateLimit, RateLimit(interval: 5, burst: 200, exemptLevel: nil, key: .identifier))
        XCTAssertEqual(configuration.metricsTextfile, "/var/lib/x.prom")
        XCTAssertEqual(configuration.metricsInterval, 3)
        XCTAssertEqual(try parse("rate_limit_severity = \"error\"\n").rateLimit.exemptLevel, .error)
        XCTAssertFalse(DaemonConfiguration().rateLimit.isOn, "off unless configured")
        assertError(
            "rate_limit_key = \"pid\"\n", .badValue, key: "rate_limit_key", line: 1, mentions: "expected \"unit\"")
        assertError("rate_limit_burst = -1\n", .badValue, key: "rate_limit_burst", line: 1, mentions: "at least 0")
    }

    func testTheShippedConfigurationIsValid() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../debian/journal-bridge.conf").standardized.path
        let configuration = try DaemonConfiguration.load(path: shipped)
        XCTAssertEqual(configuration.socketPath, "/run/journal-bridge/journal-bridge.sock")
        XCTAssertEqual(configuration.sinks.base, "/var/log/journal-bridge/journal-bridge")
    }
}
