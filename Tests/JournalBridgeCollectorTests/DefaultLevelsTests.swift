@testable import JournalBridgeCollector
import JournalBridgeDaemon
import Logging
import XCTest

/// What reaches which sink when nothing is configured (README, "Which levels go where").
final class DefaultLevelsTests: XCTestCase {
    func testJournaldTakesEveryLevelByDefaultAndTheFilesKeepThePythonThresholds() throws {
        let sinks = SinkConfiguration(base: "/tmp/x")
        XCTAssertEqual(sinks.journaldLevel, .trace, "journald gets every record, trace included")
        XCTAssertEqual(sinks.errorFileLevel, .warning)
        XCTAssertEqual(sinks.debugFileLevel, .debug)
        XCTAssertEqual(sinks.consoleLevel, .info)
        XCTAssertEqual(try DaemonConfiguration.parse("", source: "empty.conf").sinks.journaldLevel, .trace)
    }

    func testTheShippedConfigurationSendsEveryLevelToJournald() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../debian/journal-bridge.conf").standardized.path
        let configuration = try DaemonConfiguration.load(path: shipped)
        XCTAssertEqual(configuration.sinks.journaldLevel, .trace)
        XCTAssertEqual(configuration.sinks.errorFileLevel, .warning)
        XCTAssertEqual(configuration.sinks.debugFileLevel, .debug)
        XCTAssertNil(configuration.sinks.consoleLevel)
    }

    /// The shipped file says `console = false` and then `console_level = "info"`: the console
    /// stayed on, so under systemd every INFO+ record reached journald twice.
    func testConsoleFalseWinsWhereverTheLevelStands() throws {
        for text in ["console = false\nconsole_level = \"info\"\n", "console_level = \"info\"\nconsole = false\n"] {
            XCTAssertNil(try DaemonConfiguration.parse(text, source: "t.conf").sinks.consoleLevel, text)
        }
        XCTAssertEqual(
            try DaemonConfiguration.parse("console_level = \"error\"\nconsole = true\n", source: "t.conf").sinks
                .consoleLevel, .error)
    }
}
