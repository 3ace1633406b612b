import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import XCTest

/// docs/reliability.md: a record is named by session and sequence, in journald (`JB_SESSION`,
/// `JB_SEQ`) and in the files (`%(session)s`, `%(sequence)d`): the same text in both, also for a
/// session whose top hex digit is 0 (one in sixteen).
final class SessionKeyTests: XCTestCase {
    func testASessionWithALeadingZeroDigitIsTheSameKeyInJournaldAndInTheFile() throws {
        let identifier = Journal.uniqueIdentifier("jbsession")
        let fixture = try CollectorFixture(
            files: "s", journaldLevel: .debug,
            sinks: { sinks in
                sinks.fileFormat = try LineFormat("%(session)s %(sequence)d %(message)s")
            })
        defer { fixture.stop() }
        let session: UInt64 = 0x00ab_cdef_0123_4567
        let client = try RawClient(path: fixture.socketPath)
        client.send(.hello(Hello(session: session, identifier: identifier)))
        guard case .welcome? = client.nextFrame() else { return XCTFail("no welcome") }
        client.send(.batch([LogRecord(level: .info, message: "keyed", sequence: 1, origin: .unattributed)]))
        guard case .ack(1)? = client.nextFrame() else { return XCTFail("no ack") }

        let entry = try XCTUnwrap(try Journal.entries(identifier: identifier).first)
        let journaldKey = try XCTUnwrap(entry["JB_SESSION"])
        XCTAssertEqual(journaldKey, "00abcdef01234567")
        let line = try XCTUnwrap(fixture.directory.lines("s_debug.log").first)
        XCTAssertEqual(
            line, "\(journaldKey) \(try XCTUnwrap(entry["JB_SEQ"])) keyed", "the file names the record as journald does"
        )
    }
}
