import Foundation
import JournalBridge
@testable import JournalBridgeCollector
import XCTest

/// What the collector makes of a worker's cgroup and /proc entries at connect time.
final class PeerIdentityTests: XCTestCase {
    func testUnitsAreNamedTheWaySystemdNamesThem() {
        typealias Units = PeerIdentity.UnitPath
        XCTAssertEqual(
            PeerIdentity.units(ofCgroup: "/system.slice/app.service"), Units(unit: "app.service", slice: "system.slice")
        )
        XCTAssertEqual(
            PeerIdentity.units(ofCgroup: "/system.slice/system-worker.slice/worker@3.service"),
            Units(unit: "worker@3.service", slice: "system-worker.slice")
        )
        // A service's own sub-cgroups (Delegate=yes) still belong to the service.
        XCTAssertEqual(
            PeerIdentity.units(ofCgroup: "/system.slice/app.service/payload"),
            Units(unit: "app.service", slice: "system.slice"))
        XCTAssertEqual(PeerIdentity.units(ofCgroup: "/init.scope"), Units(unit: "init.scope", slice: "-.slice"))
        XCTAssertEqual(
            PeerIdentity.units(ofCgroup: "/user.slice/user-1000.slice/user@1000.service/app.slice/editor.service"),
            Units(
                unit: "user@1000.service", slice: "user-1000.slice", userUnit: "editor.service", userSlice: "app.slice",
                ownerUID: 1000)
        )
        XCTAssertEqual(
            PeerIdentity.units(ofCgroup: "/user.slice/user-1000.slice/session-4.scope"),
            Units(unit: "session-4.scope", slice: "user-1000.slice")
        )
        // No unit: the root, a slice only, a name systemd would not take.
        XCTAssertEqual(PeerIdentity.units(ofCgroup: "/"), Units())
        XCTAssertEqual(PeerIdentity.units(ofCgroup: "/system.slice"), Units(slice: "system.slice"))
        XCTAssertEqual(PeerIdentity.units(ofCgroup: "/docker/3f2a"), Units())
        XCTAssertEqual(PeerIdentity.units(ofCgroup: "/system.slice/app.service;rm"), Units(slice: "system.slice"))
    }

    func testJournaldFieldsNameTheUnitAndTheProcessAndNothingUnknown() {
        let identity = PeerIdentity(
            uid: 1000, gid: 100, comm: "worker", exe: nil, cgroup: "/system.slice/app.service",
            invocationID: "0123456789abcdef0123456789abcdef"
        )
        let fields = Dictionary(uniqueKeysWithValues: identity.journaldFields.map { ("\($0.name)", $0.value) })
        XCTAssertEqual(
            fields,
            [
                "OBJECT_UID": "1000", "OBJECT_GID": "100", "OBJECT_COMM": "worker",
                "OBJECT_SYSTEMD_CGROUP": "/system.slice/app.service",
                "OBJECT_SYSTEMD_UNIT": "app.service", "OBJECT_SYSTEMD_SLICE": "system.slice",
                "OBJECT_SYSTEMD_INVOCATION_ID": "0123456789abcdef0123456789abcdef",
            ]
        )
    }

    func testCaptureReadsALiveProcessAndRefusesAPidOfAnotherUser() throws {
        let me = PeerIdentity.capture(pid: getpid(), uid: geteuid(), gid: getegid())
        let comm = try String(contentsOfFile: "/proc/self/comm", encoding: .utf8).trimmingCharacters(in: .newlines)
        XCTAssertEqual(me.comm, comm)
        XCTAssertEqual(me.exe, try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        let cgroupLine = try String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8).split(separator: "\n").first {
            $0.hasPrefix("0::/")
        }
        XCTAssertEqual(me.cgroup, cgroupLine.map { String($0.dropFirst(3)) }.flatMap { $0.contains("..") ? nil : $0 })
        // SO_PEERCRED said another uid: the pid is not the peer any more (or never was).
        let stranger = PeerIdentity.capture(pid: getpid(), uid: geteuid() &+ 1, gid: getegid())
        XCTAssertEqual(stranger, PeerIdentity(uid: geteuid() &+ 1, gid: getegid()))
        XCTAssertTrue(stranger.journaldFields.allSatisfy { ["OBJECT_UID", "OBJECT_GID"].contains("\($0.name)") })
        let gone = PeerIdentity.capture(pid: Int32.max, uid: 5, gid: 6)
        XCTAssertEqual(gone, PeerIdentity(uid: 5, gid: 6))
    }

    /// A datagram sender's facts are read once a second at most, per pid, uid and gid; the
    /// cache never holds more than its capacity.
    func testTheCacheReadsEachSenderOnceASecondAndStaysBounded() {
        var reads: [Int32] = []
        var cache = PeerIdentityCache { pid, uid, gid in
            reads.append(pid)
            return PeerIdentity(uid: uid, gid: gid, comm: "p\(pid)")
        }
        let second = PeerIdentityCache.refreshInterval
        XCTAssertEqual(cache.identity(pid: 10, uid: 1, gid: 1, now: 5).comm, "p10")
        XCTAssertEqual(cache.identity(pid: 10, uid: 1, gid: 1, now: 5 + second - 1).comm, "p10")
        XCTAssertEqual(reads, [10], "read once within the interval")
        _ = cache.identity(pid: 10, uid: 2, gid: 1, now: 6)
        XCTAssertEqual(reads, [10, 10], "another uid with the same pid (reused) is read afresh")
        _ = cache.identity(pid: 10, uid: 1, gid: 1, now: 5 + second)
        XCTAssertEqual(reads, [10, 10, 10], "read again once the interval has passed")
        for pid in Int32(100)..<Int32(100 + 3 * PeerIdentityCache.capacity) {
            _ = cache.identity(pid: pid, uid: 1, gid: 1, now: 5 + second)
            XCTAssertLessThanOrEqual(cache.count, PeerIdentityCache.capacity)
        }
        XCTAssertEqual(reads.count, 3 + 3 * PeerIdentityCache.capacity)
    }
}
