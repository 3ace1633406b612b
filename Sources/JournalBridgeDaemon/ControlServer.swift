import CJournalBridgeShims
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import JournalBridgeCollector

/// The daemon's control channel: a second Unix socket, `<socket>.control`, made with the main
/// socket's mode and group, that answers one request per connection (`json`, `prometheus` or
/// `table`, one line) with the counters (`journal-bridge status`). Peers are checked with
/// SO_PEERCRED as well: root, the daemon's own uid, or the socket's group as the peer's primary
/// group. SO_PEERCRED carries no supplementary groups: when the mode gives others nothing, the
/// kernel's permission check at connect already admitted only the owner and the group, so any
/// peer that got through is let in. One request at a
/// time on a thread of its own; a peer gets one second to send its line.
package final class ControlServer: Sendable {
    package static let suffix = ".control"
    /// The longest request line read.
    static let maximumRequest = 64

    private let listener: Int32
    private let path: String
    /// False for a socket systemd passed: systemd made it and removes it.
    private let owned: Bool
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// Started in `init`, joined by `stop()`, which `deinit` calls (the thread-owner rule,
    /// `OwnedThread`): the thread holds the descriptors and the responder, not the server.
    private let thread = OwnedThread()
    private let stopped = ConditionLock(false)

    /// `listeningDescriptor`: a socket systemd passed, used instead of binding `path`.
    package init(
        path: String, mode: mode_t, group: gid_t?, listeningDescriptor: Int32? = nil,
        respond: @escaping @Sendable (String) -> String?
    ) throws(SystemError) {
        self.path = path
        owned = listeningDescriptor == nil
        if let listeningDescriptor {
            listener = listeningDescriptor
            try UnixSocket.setNonBlocking(listeningDescriptor)
        } else {
            listener = try UnixSocket.listen(path: path, mode: mode, group: group, backlog: 16)
        }
        var fds: [Int32] = [0, 0]
        do {
            try syscall("pipe2") { c_jb_pipe(&fds) }
        } catch {
            if owned { close(listener) }
            throw error
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        let listener = self.listener
        let wakeRead = self.wakeRead
        thread.start(name: "jb-control") {
            Self.serve(listener: listener, wake: wakeRead, group: group, groupOnly: mode & 0o007 == 0, respond: respond)
        }
    }

    deinit { stop() }

    private static func serve(
        listener: Int32, wake: Int32, group: gid_t?, groupOnly: Bool, respond: (String) -> String?
    ) {
        while true {
            var fds = [
                pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
            ]
            guard poll(&fds, 2, -1) >= 0 else { continue }  // EINTR
            if fds[0].revents != 0 { return }
            guard fds[1].revents != 0 else { continue }
            let fd = c_jb_accept(listener, 0)
            guard fd >= 0 else { continue }
            defer { close(fd) }  // the answer was sent or abandoned: nothing to lose on close
            guard let peer = try? UnixSocket.peerCredentials(fd),
                groupOnly || peer.uid == 0 || peer.uid == geteuid() || (group != nil && peer.gid == group!)
            else { continue }
            // Without the timeouts a silent or stuck peer would hold the channel: refuse it then.
            guard (try? UnixSocket.setTimeout(fd, option: SO_RCVTIMEO, seconds: 1)) != nil,
                (try? UnixSocket.setTimeout(fd, option: SO_SNDTIMEO, seconds: 5)) != nil
            else { continue }
            var request: [UInt8] = []
            var byte: UInt8 = 0
            while request.count < maximumRequest, read(fd, &byte, 1) == 1, byte != UInt8(ascii: "\n") {
                request.append(byte)
            }
            let answer =
                respond(String(decoding: request, as: UTF8.self))
                ?? "error: unknown request (json, prometheus or table)\n"
            var bytes = Array(answer.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { break }
                bytes = bytes.dropFirst(n)
            }
        }
    }

    /// Stops the thread and removes the socket it made.
    package func stop() {
        guard
            stopped.withLock({ stopped -> Bool in
                defer { stopped = true }; return !stopped
            })
        else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)  // the pipe is empty and non-blocking: this byte fits
        thread.join()
        close(wakeRead)
        close(wakeWrite)
        if owned {
            close(listener)
            unlink(path)
        }
    }

    /// Asks the control socket at `path` for `request`; the whole answer (at most 64 MiB).
    package static func ask(path: String, request: String) throws(SystemError) -> String {
        let fd = try UnixSocket.connect(path: path, timeout: 10)  // a stopped daemon's full backlog
        defer { close(fd) }  // read to the end: nothing to lose on close
        try UnixSocket.setTimeout(fd, option: SO_RCVTIMEO, seconds: 10)
        let line = Array((request + "\n").utf8)
        // A line this short goes in one send on a fresh socket; if it did not, the read below
        // gets the server's "unknown request" or times out, and says so.
        _ = line.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while answer.count < 64 << 20 {
            let n = try syscall("read \(path)") { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
            if n == 0 { break }
            answer.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
