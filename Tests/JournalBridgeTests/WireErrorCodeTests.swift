import JournalBridge
import XCTest

/// `WireError.Code` is a struct over a private enum, so that adding a code breaks no caller's
/// switch; it must still compare, hash and print as the enum did (the text goes into goodbye frames).
final class WireErrorCodeTests: XCTestCase {
    func testCodesAreDistinctAndPrintTheirText() {
        let codes: [WireError.Code] = [
            .emptyFrame, .frameTooLarge, .unknownFrameType, .badMagic, .unsupportedVersion, .truncated,
            .trailingBytes, .limitExceeded, .invalidLevel, .unexpectedFrame, .invalidSession, .invalidSequence,
        ]
        XCTAssertEqual(Set(codes).count, codes.count)
        XCTAssertEqual(WireError(.truncated).description, "frame shorter than its contents")
        XCTAssertEqual(WireError(.limitExceeded, "key of 2000 bytes").description, "limit exceeded: key of 2000 bytes")
        XCTAssertNotEqual(WireError(.badMagic), WireError(.unsupportedVersion))
    }
}
