import JournalBridgeCollector
import XCTest

final class FieldNameTests: XCTestCase {
    private func map(_ key: String) -> String? { FieldName.journaldName(forMetadataKey: key) }

    func testDottedKeysBecomeUpperSnakeCase() {
        XCTAssertEqual(map("request.id"), "REQUEST_ID")
        XCTAssertEqual(map("user-agent"), "USER_AGENT")
        XCTAssertEqual(map("Already_OK_9"), "ALREADY_OK_9")
    }

    func testRunsOfInvalidCharactersCollapse() {
        XCTAssertEqual(map("a..b"), "A_B")
        XCTAssertEqual(map("a = b"), "A_B")
        XCTAssertEqual(map("line\nbreak"), "LINE_BREAK")
        XCTAssertEqual(map("naïve"), "NA_VE")
    }

    func testLeadingUnderscoreIsRemovedSoJournaldKeepsTheField() {
        // journald drops fields starting with `_` (they are its trusted fields).
        XCTAssertEqual(map("_PID"), "PID")
        XCTAssertEqual(map("_SYSTEMD_UNIT"), "SYSTEMD_UNIT")
        XCTAssertEqual(map("__x"), "X")
        XCTAssertEqual(map(".hidden"), "HIDDEN")
    }

    func testLeadingDigitIsPrefixed() {
        XCTAssertEqual(map("2fa"), "META_2FA")
        XCTAssertEqual(map("_1"), "META_1")
    }

    func testAtMost64Characters() {
        let name = map(String(repeating: "k", count: 100))
        XCTAssertEqual(name?.count, 64)
        XCTAssertEqual(name, String(repeating: "K", count: 64))
        XCTAssertEqual(map(String(repeating: "k", count: 64))?.count, 64)
        XCTAssertEqual(map("1" + String(repeating: "k", count: 70))?.count, 64)
    }

    func testKeysThatWouldOverwriteBridgeFieldsAreMovedAside() {
        for key in [
            "message", "MESSAGE", "priority", "syslog_identifier", "SYSLOG_PID", "code.file", "CODE_LINE",
            "object_pid", "logger.label", "jb_seq", "message_id",
        ] {
            let name = map(key)
            XCTAssertNotNil(name, key)
            XCTAssertTrue(name!.hasPrefix(FieldName.escapePrefix), "\(key) -> \(name!)")
            XCTAssertFalse(FieldName.isReserved(name!), "\(key) -> \(name!)")
        }
        XCTAssertEqual(map("priority"), "META_PRIORITY")
        XCTAssertEqual(map("_MESSAGE"), "META_MESSAGE")
    }

    func testKeysWithNothingUsableMapToNil() {
        XCTAssertNil(map(""))
        XCTAssertNil(map("_"))
        XCTAssertNil(map("..."))
        XCTAssertNil(map("=\n"))
    }

    func testEveryMappedNameIsOneJournaldKeeps() {
        let keys = [
            "request.id", "_PID", "2fa", "x=y", "éé", "a\u{0}b", "MESSAGE", String(repeating: "z", count: 300), "lower",
            "9", "_9x",
        ]
        for key in keys {
            guard let name = map(key) else { continue }
            XCTAssertTrue(FieldName.isValid(name), "\(key.debugDescription) -> \(name)")
        }
    }

    func testValidityRulesMatchJournald() {
        XCTAssertTrue(FieldName.isValid("REQUEST_ID"))
        XCTAssertFalse(FieldName.isValid("_PID"))
        XCTAssertFalse(FieldName.isValid("1ABC"))
        XCTAssertFalse(FieldName.isValid("lower"))
        XCTAssertFalse(FieldName.isValid(""))
        XCTAssertFalse(FieldName.isValid(String(repeating: "A", count: 65)))
        XCTAssertFalse(FieldName.isValid("A-B"))
    }
}
