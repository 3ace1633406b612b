import Foundation
import JournalBridge
@testable import JournalBridgeDaemon
import JournalBridgeTestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The control channel (`journal-bridge status`) against peers of the socket's group, which
/// workers are: none may hold it, fill it, or get in where the socket's file says no.
final class ControlServerTests: XCTestCase {
    private func server(_ path: String, mode: mode_t = 0o600, group: gid_t? = nil, descriptor: Int32? = nil) throws
        -> ControlServer
    {
        try ControlServer(path: path, mode: mode, group: group, listeningDescriptor: descriptor) { "answer \($0)\n" }
    }

    private func connected(_ path: String) throws -> Int32 { try UnixSocket.connect(path: path, timeout: 5) }

    /// Whether the server closed `fd` within `seconds` (a read returns 0, or the reset).
    private func closedByServer(_ fd: Int32, within seconds: Double) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(seconds * 1000)) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) <= 0
    }

    /// Two peers sending their line a byte every half second (63 bytes: half a minute each)
    /// held the channel one after the other, a second per byte read: `status` timed out after
    /// 10 s. Now each has a second in all, and others are answered meanwhile.
    func testPeersSendingSlowlyDoNotHoldTheChannel() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("c.control")
        let control = try server(path)
        let slow = try (0..<2).map { _ in try connected(path) }
        let dripping = Thread {
            for _ in 0..<63 {
                for fd in slow { _ = send(fd, "x", 1, Int32(MSG_NOSIGNAL)) }
                usleep(500_000)
            }
        }
        dripping.start()
        usleep(100_000)
        XCTAssertEqual(try ControlServer.ask(path: path, request: "json"), "answer json\n")
        for fd in slow { XCTAssertTrue(closedByServer(fd, within: 5), "the slow peer is cut after its second") }
        XCTAssertEqual(try ControlServer.ask(path: path, request: "table"), "answer table\n")
        for fd in slow { close(fd) }
        control.stop()
    }

    /// A user of the socket's group holds at most four connections at once; the rest are closed
    /// at once, and `status` (root) is answered while that user's four wait.
    func testOneUserHoldsAtMostFourConnections() throws {
        let directory = try TemporaryDirectory()
        XCTAssertEqual(chmod(directory.path, 0o755), 0)
        let path = directory.file("c.control")
        let control = try server(path, mode: 0o660, group: 65534)
        // As uid 65534 (group 65534, the socket's): ten silent connections; prints how many the
        // server closed within a second.
        let script = """
            import socket, time
            held = []
            for _ in range(10):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(\(String(reflecting: path))); held.append(s)
            time.sleep(0.5)
            closed = 0
            for s in held:
                s.settimeout(0.05)
                try:
                    closed += s.recv(1) == b""
                except (socket.timeout, ConnectionResetError):
                    pass
            print(closed)
            time.sleep(0.5)
            """
        let peer = try BackgroundProcess(
            "/usr/bin/setpriv",
            ["--reuid", "65534", "--regid", "65534", "--clear-groups", "/usr/bin/python3", "-c", script],
            environment: [:], input: nil)
        usleep(300_000)
        XCTAssertEqual(try ControlServer.ask(path: path, request: "json"), "answer json\n")
        XCTAssertEqual(peer.finish(), 0, peer.stderrText)
        let closed = String(decoding: peer.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(closed, "6", peer.stderrText)
        control.stop()
    }

    /// A socket systemd passed: its file's mode decides, not the configuration's. With
    /// `SocketMode=0666` and the configuration's 0660, any user got the table.
    func testAPassedSocketIsJudgedByItsOwnMode() throws {
        let directory = try TemporaryDirectory()
        XCTAssertEqual(chmod(directory.path, 0o755), 0)
        let path = directory.file("passed.control")
        let listener = try UnixSocket.listen(path: path, mode: 0o666, group: nil, backlog: 16)
        let control = try server(path, mode: 0o660, descriptor: listener)
        let stranger = try ForkedClient.exchange(path: path, bytes: Array("table\n".utf8), user: (65534, 65534))
        XCTAssertEqual(stranger, [], "uid 65534, neither root, the daemon's user nor the socket's group")
        let root = try ForkedClient.exchange(path: path, bytes: Array("table\n".utf8))
        XCTAssertEqual(String(decoding: root, as: UTF8.self), "answer table\n")
        control.stop()
        close(listener)
    }

    /// Out of descriptors, the listener stays readable: the thread spun on accept's EMFILE at
    /// full CPU for as long as it lasted. Now it waits a moment between tries.
    func testOutOfDescriptorsTheChannelDoesNotSpin() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("c.control")
        let earlier = Set(taskThreads().map(\.id))
        let control = try server(path)
        // This server's thread (it names itself once running); its CPU time is read through a
        // descriptor opened now: none can be opened later.
        var id: Int?
        for _ in 0..<200 where id == nil {
            id = taskThreads().first { $0.name == "jb-control" && !earlier.contains($0.id) }?.id
            if id == nil { usleep(10_000) }
        }
        let thread = try XCTUnwrap(id, "the control thread")
        let stat = open("/proc/self/task/\(thread)/stat", O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(stat, 0)
        defer { close(stat) }
        func cpuTicks() -> Int? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = pread(stat, &buffer, buffer.count, 0)
            guard n > 0, let close = buffer[..<n].lastIndex(of: UInt8(ascii: ")")) else { return nil }
            let fields = buffer[(close + 2)..<n].split(separator: UInt8(ascii: " ")).map {
                String(decoding: $0, as: UTF8.self)
            }
            guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
            return user + system
        }
        var saved = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved), 0)
        let waiting = try connected(path)  // in the backlog, to be accepted when there is no descriptor
        var hoard: [Int32] = []
        var limited = saved
        limited.rlim_cur = rlim_t(dup(0))
        hoard.append(Int32(limited.rlim_cur))
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limited), 0)
        defer {
            for fd in hoard { close(fd) }
            var restore = saved
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &restore)
            close(waiting)
            control.stop()
        }
        while case let fd = dup(0), fd >= 0 { hoard.append(fd) }
        XCTAssertEqual(errno, EMFILE)
        usleep(200_000)
        let before = try XCTUnwrap(cpuTicks())
        sleep(2)
        let after = try XCTUnwrap(cpuTicks())
        let ticks = Int(sysconf(Int32(_SC_CLK_TCK)))
        XCTAssertLessThan(after - before, ticks / 5, "at most a tenth of the 2 s on the CPU (spinning: all of it)")
    }
}
