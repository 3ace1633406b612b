import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import XCTest

/// The collector's own socket: mode and group set without a path-based chmod/chown (issue 9, item 6).
final class SocketSafetyTests: XCTestCase {
    func testTheSocketGetsTheConfiguredModeAndGroupWhateverTheUmask() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("c.sock")
        let previous = umask(0o077)  // a umask that would strip the group's bits
        defer { umask(previous) }
        let collector = Collector(
            configuration: CollectorConfiguration(socketPath: socket, socketMode: 0o660, socketGroup: 65534), routes: []
        )
        try collector.start()
        defer { collector.stop() }
        var info = stat()
        XCTAssertEqual(lstat(socket, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertEqual(info.st_mode & 0o7777, 0o660)
        XCTAssertEqual(info.st_gid, 65534)
        XCTAssertEqual(info.st_uid, geteuid())
        XCTAssertEqual(umask(0o077), 0o077, "the process's umask is as it was")
    }

    /// The race: a symlink renamed over the socket right after bind made `chmod(path)`
    /// (and `chown(path)`) act on the link's target. An inotify-driven attacker swaps the new
    /// socket for a link to a 0600 file at every start; the file must never change.
    func testALinkSwappedInAfterBindIsNeverChmodedOrChownedThrough() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("c.sock")
        let victim = directory.file("victim")
        XCTAssertTrue(
            FileManager.default.createFile(
                atPath: victim, contents: Array("unchanged".utf8).withUnsafeBytes { Data($0) }))
        XCTAssertEqual(chmod(victim, 0o600), 0)
        var before = stat()
        XCTAssertEqual(stat(victim, &before), 0)

        let attacker = try LinkSwapper(directory: directory.path, name: "c.sock", target: victim)
        defer { attacker.stop() }
        var refused = 0
        let starts = 200
        for round in 0..<starts {
            let collector = Collector(
                configuration: CollectorConfiguration(
                    socketPath: socket, socketMode: 0o666, socketGroup: round % 2 == 0 ? nil : 65534),
                routes: []
            )
            do {
                try collector.start()
                collector.stop()
            } catch {
                refused += 1
            }
            // Let the attacker finish its swap for this round, then clear the name for the next.
            XCTAssertTrue(eventually(timeout: 10) { attacker.swaps > round }, "round \(round)")
            unlink(socket)
            var now = stat()
            XCTAssertEqual(stat(victim, &now), 0)
            XCTAssertEqual(now.st_mode & 0o7777, 0o600, "round \(round): the victim's mode changed")
            XCTAssertEqual(now.st_gid, before.st_gid, "round \(round): the victim's group changed")
            if now.st_mode & 0o7777 != 0o600 || now.st_gid != before.st_gid { break }
        }
        XCTAssertEqual(attacker.swaps, starts, "the attacker swapped a link in at every start")
        XCTAssertEqual(
            String(decoding: FileManager.default.contents(atPath: victim) ?? Data(), as: UTF8.self), "unchanged")
        // Only the starts with a group can notice the swap (there is nothing to do by path without one).
        XCTAssertLessThanOrEqual(refused, starts / 2)
        print(
            "socket race: \(starts) starts, \(refused) refused because the socket was swapped before its group was set")
    }

    func testASocketDirectoryWritableByOthersWithoutTheStickyBitIsRefused() throws {
        let directory = try TemporaryDirectory()
        XCTAssertEqual(chmod(directory.path, 0o777), 0)
        let collector = Collector(
            configuration: CollectorConfiguration(socketPath: directory.file("c.sock")), routes: [])
        XCTAssertThrowsError(try collector.start()) { error in
            XCTAssertTrue("\(error)".contains(directory.path), "\(error)")
            XCTAssertTrue("\(error)".contains("sticky"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("c.sock")))
        // With the sticky bit (like /tmp) nobody can replace another's socket: accepted.
        XCTAssertEqual(chmod(directory.path, 0o1777), 0)
        try collector.start()
        collector.stop()
    }

    /// A directory of another user's: its owner could replace the socket. Refused, as one
    /// writable by others (the collector bound there; it may run as root).
    func testASocketDirectoryOfAnotherUserIsRefused() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to give the directory away")
        let directory = try TemporaryDirectory()
        let theirs = directory.file("theirs")
        XCTAssertEqual(mkdir(theirs, 0o755), 0)
        XCTAssertEqual(chown(theirs, 65534, 65534), 0)
        let collector = Collector(configuration: CollectorConfiguration(socketPath: theirs + "/c.sock"), routes: [])
        XCTAssertThrowsError(try collector.start()) { error in
            XCTAssertTrue("\(error)".contains("belongs to uid 65534"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: theirs + "/c.sock"))
    }

    /// A dead socket of another user's where the collector would listen is not removed (it
    /// was, and the collector bound its own in its place): the start fails and says whose it is.
    func testAnotherUsersDeadSocketIsNotReplaced() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to make another user's socket")
        let directory = try TemporaryDirectory()
        XCTAssertEqual(chmod(directory.path, 0o1777), 0)
        let path = directory.file("other.sock")
        let dead = try UnixSocket.listen(path: path)
        close(dead)  // nobody listens there now: a stale socket
        XCTAssertEqual(lchown(path, 65534, 65534), 0)
        let collector = Collector(configuration: CollectorConfiguration(socketPath: path), routes: [])
        XCTAssertThrowsError(try collector.start()) { error in
            XCTAssertTrue("\(error)".contains("refusing to replace \(path): a socket of uid 65534"), "\(error)")
        }
        var info = stat()
        XCTAssertEqual(lstat(path, &info), 0)
        XCTAssertEqual(info.st_uid, 65534, "still theirs")
        // A dead socket of this user's is replaced, as before.
        XCTAssertEqual(lchown(path, 0, 0), 0)
        try collector.start()
        collector.stop()
        // In a directory only its owner may write, another user's dead socket was let in by the
        // owner (systemd's SocketUser= leaves one at stop): replaced.
        let own = directory.file("own")
        XCTAssertEqual(mkdir(own, 0o755), 0)
        let theirs = own + "/theirs.sock"
        close(try UnixSocket.listen(path: theirs))
        XCTAssertEqual(lchown(theirs, 65534, 65534), 0)
        let replacing = Collector(configuration: CollectorConfiguration(socketPath: theirs), routes: [])
        try replacing.start()
        replacing.stop()
    }
}

/// Watches a directory with inotify; each time `name` is created there, renames a ready
/// symlink to `target` over it (one rename(2) after the wake-up: as fast as an attacker gets).
private final class LinkSwapper: @unchecked Sendable {
    private let inotify: Int32
    private let wake: [Int32]
    private let lock = NSLock()
    private var count = 0
    private let done = DispatchSemaphore(value: 0)

    var swaps: Int { lock.withLock { count } }

    init(directory: String, name: String, target: String) throws {
        inotify = inotify_init1(Int32(IN_CLOEXEC))
        guard inotify >= 0, inotify_add_watch(inotify, directory, UInt32(IN_CREATE)) >= 0 else {
            throw Run.Failure(description: "inotify: errno \(errno)")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Run.Failure(description: "pipe: errno \(errno)") }
        wake = fds
        let ready = directory + "/ready-link"
        let path = directory + "/" + name
        symlink(target, ready)
        let inotify = self.inotify
        let wakeRead = fds[0]
        Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            var polled = [
                pollfd(fd: inotify, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            while poll(&polled, 2, -1) >= 0 && polled[1].revents == 0 {
                let n = read(inotify, &buffer, buffer.count)
                guard n > 0 else { continue }
                var offset = 0
                while offset + 16 <= n {
                    let length =
                        Int(buffer[offset + 12]) | Int(buffer[offset + 13]) << 8 | Int(buffer[offset + 14]) << 16
                    let nameBytes = buffer[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }
                    offset += 16 + length
                    guard String(decoding: nameBytes, as: UTF8.self) == name else { continue }
                    rename(ready, path)
                    symlink(target, ready)
                    lock.withLock { count += 1 }
                }
            }
            done.signal()
        }.start()
    }

    func stop() {
        _ = write(wake[1], "x", 1)
        done.wait()
        close(inotify)
        close(wake[0])
        close(wake[1])
    }
}
