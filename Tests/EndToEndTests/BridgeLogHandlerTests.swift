import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

/// The worker-side handler: metadata from the handler, the provider, the call and an
/// error all reach the collector, merged as swift-log's StreamLogHandler merges them.
final class BridgeLogHandlerTests: XCTestCase {
    struct Failure: Error, CustomStringConvertible { var description: String { "disk on fire" } }

    func testMetadataFromEverySourceIsMergedLaterWins() throws {
        let fixture = try CollectorFixture(
            files: "m",
            sinks: { sinks in
                sinks.fileFormat = try LineFormat("%(levelname)s %(message)s {%(metadata)s}")
                sinks.debugFileLevel = .trace
            })
        let directory = fixture.directory
        let shipper = fixture.shipper(identifier: "merge")
        let provider = Logger.MetadataProvider { ["trace.id": "t-1", "shared": "provider"] }

        var plain = Logger(label: "plain") { BridgeLogHandler(label: $0, shipper: shipper, metadataProvider: nil) }
        plain.logLevel = .trace
        plain[metadataKey: "shared"] = "handler"
        plain[metadataKey: "only.handler"] = "h"
        plain.trace("none at the call")
        plain.info("call wins", metadata: ["shared": "call", "n": "1"])

        var provided = Logger(label: "provided") {
            BridgeLogHandler(label: $0, shipper: shipper, metadataProvider: provider)
        }
        provided[metadataKey: "shared"] = "handler"
        provided.error("with provider", metadata: ["shared": "call"])
        provided.log(level: .critical, "with error", error: Failure())

        XCTAssertTrue(shipper.flush(timeout: 20))
        shipper.shutdown()
        fixture.stop()
        XCTAssertEqual(
            directory.lines("m_debug.log"),
            [
                "TRACE none at the call {only.handler=h shared=handler}",
                "INFO call wins {n=1 only.handler=h shared=call}",
                "ERROR with provider {shared=call trace.id=t-1}",
                "CRITICAL with error {error.message=\"disk on fire\" error.type=EndToEndTests.BridgeLogHandlerTests.Failure shared=provider trace.id=t-1}",
            ])
    }
}
