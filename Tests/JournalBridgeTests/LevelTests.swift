import JournalBridge
import Logging
import XCTest

final class LevelTests: XCTestCase {
    func testSyslogPriorities() {
        let expected: [Logger.Level: Int] = [.trace: 7, .debug: 7, .info: 6, .notice: 5, .warning: 4, .error: 3, .critical: 2]
        for level in Logger.Level.allCases {
            XCTAssertEqual(level.syslogPriority, expected[level], "\(level)")
        }
    }

    func testWireCodeRoundTripsAndRejectsOutOfRange() {
        for level in Logger.Level.allCases {
            XCTAssertEqual(Logger.Level(ordinal: level.ordinal), level)
        }
        XCTAssertNil(Logger.Level(ordinal: 7))
        XCTAssertNil(Logger.Level(ordinal: 255))
    }

    func testParsingAcceptsCommonSpellings() {
        XCTAssertEqual(Logger.Level(parsing: "WARNING"), .warning)
        XCTAssertEqual(Logger.Level(parsing: "warn"), .warning)
        XCTAssertEqual(Logger.Level(parsing: "Critical"), .critical)
        XCTAssertEqual(Logger.Level(parsing: "fatal"), .critical)
        XCTAssertEqual(Logger.Level(parsing: "err"), .error)
        XCTAssertNil(Logger.Level(parsing: "loud"))
        XCTAssertNil(Logger.Level(parsing: ""))
    }

    func testDisplayNamesMatchPythonLogging() {
        XCTAssertEqual(Logger.Level.warning.displayName, "WARNING")
        XCTAssertEqual(Logger.Level.critical.displayName, "CRITICAL")
        XCTAssertEqual(Logger.Level.debug.displayName, "DEBUG")
    }
}
