import Foundation
import JournalBridgeTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A collector running as root vouches for its workers: journald files each record under the
/// worker's systemd unit (`journalctl -u`), from what the collector read when the worker
/// connected, also for a worker that exited or was SIGKILLed before journald saw its records.
/// The worker's unit is a cgroup made here, named and marked the way systemd makes one.
final class WorkerAttributionTests: XCTestCase {
    /// The cgroup v2 tree: alone at /sys/fs/cgroup, or beside cgroup v1 at /sys/fs/cgroup/unified.
    private static func cgroupMount() -> String? {
        ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"].first {
            FileManager.default.fileExists(atPath: "\($0)/cgroup.controllers")
        }
    }

    func testRecordsOfAWorkerThatExitedOrWasKilledAreFiledUnderItsUnit() throws {
        guard geteuid() == 0 else {
            throw XCTSkip("journald takes OBJECT_* fields about another process only from root")
        }
        guard let mount = Self.cgroupMount() else { throw XCTSkip("no cgroup v2 tree") }
        let id = Journal.uniqueIdentifier("jbunit")
        let slice = "\(id).slice"
        let unit = "\(id)-worker.service"
        let sliceDirectory = "\(mount)/\(slice)"
        let unitDirectory = "\(sliceDirectory)/\(unit)"
        guard mkdir(sliceDirectory, 0o755) == 0 else { throw XCTSkip("cannot make a cgroup: errno \(errno)") }
        defer { rmdir(sliceDirectory) }
        XCTAssertEqual(mkdir(unitDirectory, 0o755), 0)
        defer { _ = eventually(timeout: 10) { rmdir(unitDirectory) == 0 || errno == ENOENT } }
        // systemd marks a unit's cgroup with its invocation id.
        let invocation = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let marked = try Run.command(
            "/usr/bin/python3",
            [
                "-c", "import os, sys; os.setxattr(sys.argv[1], 'user.invocation_id', sys.argv[2].encode())",
                unitDirectory, invocation,
            ]
        )
        XCTAssertEqual(marked.status, 0, marked.stderrText)

        let directory = try TemporaryDirectory()
        let socket = directory.file("c.sock")
        let daemon = try BackgroundProcess(
            Run.journalBridge, ["collect", "--socket", socket, "--base", directory.file("jb")])
        defer {
            daemon.signal(SIGTERM)
            XCTAssertEqual(daemon.wait(), 0, daemon.stderrText)
        }
        XCTAssertTrue(eventually { FileManager.default.fileExists(atPath: socket) }, daemon.stderrText)

        // One worker logs and exits; another is SIGKILLed while it still holds its connection.
        let enter = "echo $$ > \(unitDirectory)/cgroup.procs"
        let send = "\(Run.journalBridge) send --socket \(socket) --identifier \(id) --timeout 20"
        let exited = try Run.command(
            "/bin/sh", ["-c", "\(enter) && exec \(send) -"], stdin: Array("exited 1\nexited 2\nexited 3\n".utf8))
        XCTAssertEqual(exited.status, 0, exited.stderrText)
        let fifo = directory.file("lines")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let killed = try Run.command(
            "/bin/sh",
            [
                "-c",
                "\(enter) && { \(send) - <\(fifo) & pid=$!; exec 3>\(fifo); printf 'killed 1\\nkilled 2\\n' >&3; sleep 2; kill -KILL $pid; wait $pid; test $? = 137; }",
            ]
        )
        XCTAssertEqual(killed.status, 0, killed.stderrText)

        let entries = try Journal.entries(["-u", unit], atLeast: 5)
        XCTAssertEqual(
            Set(entries.compactMap { $0["MESSAGE"] }), ["exited 1", "exited 2", "exited 3", "killed 1", "killed 2"])
        for entry in entries {
            let message = entry["MESSAGE"] ?? "?"
            XCTAssertEqual(entry.repeated["OBJECT_SYSTEMD_UNIT"]?.count, 1, "\(message): said once")
            XCTAssertEqual(entry["OBJECT_SYSTEMD_UNIT"], unit, message)
            XCTAssertEqual(entry["OBJECT_SYSTEMD_SLICE"], slice, message)
            XCTAssertEqual(entry["OBJECT_SYSTEMD_CGROUP"], "/\(slice)/\(unit)", message)
            XCTAssertEqual(entry["OBJECT_SYSTEMD_INVOCATION_ID"], invocation, message)
            XCTAssertEqual(entry["OBJECT_COMM"], "journal-bridge", message)
            XCTAssertEqual(entry["OBJECT_UID"], "0", message)
            XCTAssertEqual(entry["_UID"], "0", "\(message): the collector, as root, vouches")
            // journald would look the pid up again when the entry arrives: too late, or wrong.
            XCTAssertNil(entry["OBJECT_PID"], message)
        }
        XCTAssertEqual(try Journal.query(["-t", id]).count, 5, "nothing else under the identifier")
    }
}
