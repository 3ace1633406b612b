import JournalBridge
import Logging
import XCTest

final class LevelTests: XCTestCase {
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
}
