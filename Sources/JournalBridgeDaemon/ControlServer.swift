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
/// group. SO_PEERCRED carries no supplementary groups: when the socket's mode gives others
/// nothing, the kernel's permission check at connect already admitted only the owner and the
/// group, so any peer that got through is let in. The mode and group are the socket file's
/// own (for a socket systemd passed, `SocketMode=` decides, not the configuration).
///
/// Any member of the group may connect, workers included, so no peer may hold the channel:
/// one thread serves up to `maximumClients` connections at once (`maximumPerUser` of one uid
/// other than root's and the daemon's) without blocking, each with a second to send its line and five to take the answer; when
/// descriptors run out, accepting pauses a moment instead of spinning.
package final class ControlServer: Sendable {
    package static let suffix = ".control"
    /// The longest request line read.
    static let maximumRequest = 64
    /// Connections served at once, and of them of one uid.
    static let maximumClients = 32
    static let maximumPerUser = 4

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

    /// Who may ask: `groupOnly` when the socket's mode gives others nothing (the kernel checked).
    private struct Admission: Sendable {
        var groupOnly: Bool
        var group: gid_t?

        func admits(uid: uid_t, gid: gid_t) -> Bool {
            groupOnly || uid == 0 || uid == geteuid() || (group != nil && gid == group!)
        }
    }

    /// One connection: reading its line until `deadline`, then sending `answer` until the next.
    private struct Client {
        var fd: Int32
        var uid: uid_t
        var deadline: UInt64
        var request: [UInt8] = []
        var answer: [UInt8]? = nil
        var sent = 0
    }

    /// `listeningDescriptor`: a socket systemd passed, used instead of binding `path`.
    package init(
        path: String, mode: mode_t, group: gid_t?, listeningDescriptor: Int32? = nil,
        respond: @escaping @Sendable (String) -> String?
    ) throws(SystemError) {
        self.path = path
        owned = listeningDescriptor == nil
        var admission = Admission(groupOnly: mode & 0o007 == 0, group: group)
        if let listeningDescriptor {
            listener = listeningDescriptor
            try UnixSocket.setNonBlocking(listeningDescriptor)
            // systemd made it: its file says who may connect. Not found, only the checks admit.
            var info = stat()
            if let bound = UnixSocket.boundPath(listeningDescriptor), lstat(bound, &info) == 0,
                info.st_mode & S_IFMT == S_IFSOCK
            {
                admission = Admission(groupOnly: info.st_mode & 0o007 == 0, group: info.st_gid)
            } else {
                admission.groupOnly = false
            }
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
        let admits = admission
        thread.start(name: "jb-control") {
            Self.serve(listener: listener, wake: wakeRead, admission: admits, respond: respond)
        }
    }

    deinit { stop() }

    private static func serve(listener: Int32, wake: Int32, admission: Admission, respond: (String) -> String?) {
        var clients: [Client] = []
        var acceptAgain: UInt64 = 0  // after EMFILE: the listener stays readable, so not polled until then
        defer { for client in clients { close(client.fd) } }
        while true {
            var now = MonotonicClock.now()
            clients.removeAll { client in
                guard client.deadline <= now else { return false }
                close(client.fd)  // too slow to ask or to take the answer
                return true
            }
            let accepting = clients.count < maximumClients && now >= acceptAgain
            var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            fds.append(pollfd(fd: accepting ? listener : -1, events: Int16(POLLIN), revents: 0))
            for client in clients {
                fds.append(pollfd(fd: client.fd, events: Int16(client.answer == nil ? POLLIN : POLLOUT), revents: 0))
            }
            var until = clients.map(\.deadline).min() ?? .max
            if !accepting && clients.count < maximumClients { until = min(until, acceptAgain) }
            let timeout = until == .max ? -1 : Int32(clamping: (until - min(until, now)) / 1_000_000 + 1)
            guard poll(&fds, nfds_t(fds.count), timeout) >= 0 else { continue }  // EINTR
            if fds[0].revents != 0 { return }
            now = MonotonicClock.now()
            if fds[1].revents != 0 {
                acceptAgain = accept(listener, admission: admission, into: &clients, now: now)
            }
            var finished: Set<Int32> = []
            for (index, pfd) in fds.dropFirst(2).enumerated() where pfd.revents != 0 {
                if !serve(&clients[index], respond: respond, now: now) { finished.insert(clients[index].fd) }
            }
            clients.removeAll { client in
                guard finished.contains(client.fd) else { return false }
                close(client.fd)  // answered, or gone: nothing to lose on close
                return true
            }
        }
    }

    /// Takes the connections waiting, as many as there is room for; returns when to accept
    /// again (now, or in 100 ms when the process or the system is out of descriptors).
    private static func accept(
        _ listener: Int32, admission: Admission, into clients: inout [Client], now: UInt64
    ) -> UInt64 {
        while clients.count < maximumClients {
            let fd = c_jb_accept(listener, 1)
            guard fd >= 0 else { return UnixSocket.acceptAgain(after: errno, now: now) }
            // Root and the daemon's user are not held to a share: `status` run by an administrator
            // gets in while the group's users hold theirs.
            guard let peer = try? UnixSocket.peerCredentials(fd), admission.admits(uid: peer.uid, gid: peer.gid),
                peer.uid == 0 || peer.uid == geteuid() || clients.count(where: { $0.uid == peer.uid }) < maximumPerUser
            else {
                close(fd)  // refused: nothing was read or sent
                continue
            }
            clients.append(Client(fd: fd, uid: peer.uid, deadline: MonotonicClock.deadline(after: 1, from: now)))
        }
        return now
    }

    /// Reads what `client` sent, or sends it what is left of its answer; false when it is done.
    private static func serve(_ client: inout Client, respond: (String) -> String?, now: UInt64) -> Bool {
        if let answer = client.answer {
            let n = answer[client.sent...].withUnsafeBytes {
                send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if n < 0 { return errno == EAGAIN || errno == EINTR }
            client.sent += n
            return client.sent < answer.count
        }
        var chunk = [UInt8](repeating: 0, count: maximumRequest)
        let n = chunk.withUnsafeMutableBytes { read(client.fd, $0.baseAddress, maximumRequest - client.request.count) }
        if n < 0 { return errno == EAGAIN || errno == EINTR }
        client.request += chunk[..<n]
        let line = client.request.firstIndex(of: UInt8(ascii: "\n"))
        guard n == 0 || line != nil || client.request.count >= maximumRequest else { return true }
        let request = client.request[..<(line ?? client.request.endIndex)]
        let answer =
            respond(String(decoding: request, as: UTF8.self)) ?? "error: unknown request (json, prometheus or table)\n"
        client.answer = Array(answer.utf8)
        client.deadline = MonotonicClock.deadline(after: 5, from: now)
        return !(client.answer?.isEmpty ?? true)
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
