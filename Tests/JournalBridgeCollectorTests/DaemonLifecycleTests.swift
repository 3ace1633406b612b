import Foundation
import JournalBridge
@testable import JournalBridgeCollector
@testable import JournalBridgeDaemon
import JournalBridgeTestSupport
import XCTest

/// The daemon's share of the collector's rules: its watchdog thread follows the thread-owner
/// rule (`OwnedThread`), and its socket mode is the collector's default, parsed by one rule.
final class DaemonLifecycleTests: XCTestCase {
    func testTheWatchdogPingersThreadIsGoneWhenStopReturns() throws {
        // A 20 s watchdog: the pinger sleeps 10 s between pings; stop must wake and join it.
        setenv("WATCHDOG_USEC", "20000000", 1)
        defer { unsetenv("WATCHDOG_USEC") }
        let pings = ConditionLock(0)
        let pinger = try XCTUnwrap(
            WatchdogPinger {
                pings.withLock { $0 += 1 }; return true
            })
        XCTAssertTrue(eventually { pings.withLock { $0 } == 1 })
        XCTAssertTrue(eventually { threadNames().contains("jb-watchdog") })
        pinger.stop()
        XCTAssertFalse(threadNames().contains("jb-watchdog"), "joined, not left sleeping")
    }

    func testTheDaemonsSocketModeDefaultIsTheCollectorsOwnerAndGroupOnly() {
        XCTAssertEqual(DaemonConfiguration().socketMode, CollectorConfiguration.Defaults.socketMode)
        XCTAssertEqual(CollectorConfiguration.Defaults.socketMode, 0o660)
    }

    func testSocketModesAreParsedByOneRule() throws {
        XCTAssertEqual(DaemonConfiguration.parseMode("0660"), 0o660)
        XCTAssertEqual(DaemonConfiguration.parseMode("600"), 0o600)
        for bad in ["", "0800", "1777", "rw-rw----", "0x1b6"] { XCTAssertNil(DaemonConfiguration.parseMode(bad), bad) }
        XCTAssertThrowsError(try DaemonConfiguration.parse("socket_mode = \"1777\"", source: "t.conf"))
    }
}
