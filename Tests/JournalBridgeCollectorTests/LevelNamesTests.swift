import JournalBridgeCollector
import Logging
import XCTest

final class LevelNamesTests: XCTestCase {
    func testSyslogPriorities() {
        let expected: [Logger.Level: Int] = [
            .trace: 7, .debug: 7, .info: 6, .notice: 5, .warning: 4, .error: 3, .critical: 2,
        ]
        for level in Logger.Level.allCases {
            XCTAssertEqual(level.syslogPriority, expected[level], "\(level)")
        }
    }

    func testDisplayNamesMatchPythonLogging() {
        XCTAssertEqual(Logger.Level.warning.displayName, "WARNING")
        XCTAssertEqual(Logger.Level.critical.displayName, "CRITICAL")
        XCTAssertEqual(Logger.Level.debug.displayName, "DEBUG")
    }
}
