import CJournalBridgeShims
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// What a syslog input owns from `start` to `close`: its socket (bound now, or systemd's),
/// a wake pipe that tells its thread to stop, and the thread. One home for that plumbing,
/// so the datagram and the stream input differ only in their loops.
package final class SyslogListener: Sendable {
    /// Where it listens.
    package let settings: SyslogInputSettings
    /// The socket and the wake pipe, from `start` to `close`.
    private let descriptors = ConditionLock<(socket: Int32, wakeRead: Int32, wakeWrite: Int32)?>(nil)
    /// Started by `start`, joined by `stopReading`; the thread holds its loop, not the input.
    private let thread = OwnedThread()

    /// A listener for `settings`; nothing is opened until `start`.
    package init(settings: SyslogInputSettings) {
        self.settings = settings
    }

    /// The bound address (`127.0.0.1:5140`) of a network socket, nil before `start` or for a Unix socket.
    package var localAddress: String? { descriptors.withLock { $0 }.flatMap { SyslogSocket.localAddress($0.socket) } }

    /// Opens the socket, runs `prepare` on it, opens the wake pipe and starts a thread named
    /// `name` running the loop `makeLoop` returns for (socket, wake pipe's read end). A failure
    /// leaves nothing open.
    package func start(
        name: String,
        prepare: (Int32) throws(SystemError) -> Void = { _ in },
        makeLoop: (_ socket: Int32, _ wake: Int32) -> @Sendable () -> Void
    ) throws(SystemError) {
        let fd = try SyslogSocket.open(settings)
        var pipe: [Int32] = [-1, -1]
        do {
            try prepare(fd)
            try syscall("pipe") { c_jb_pipe(&pipe) }
        } catch {
            if settings.listeningDescriptor == nil {
                Glibc.close(fd)
                SyslogSocket.remove(settings)
            }
            throw error
        }
        descriptors.withLock { $0 = (fd, pipe[0], pipe[1]) }
        thread.start(name: name, makeLoop(fd, pipe[0]))
    }

    /// Wakes the thread (which reads and routes what already arrived) and joins it.
    package func stopReading() {
        guard thread.isRunning else { return }
        if let wake = descriptors.withLock({ $0?.wakeWrite }) {
            var byte: UInt8 = 1
            _ = write(wake, &byte, 1)  // a full pipe already wakes the loop: nothing to retry
        }
        thread.join()
    }

    /// Closes the socket (unlinking a socket file it bound) and the wake pipe.
    package func close() {
        guard
            let open = descriptors.withLock({ d -> (socket: Int32, wakeRead: Int32, wakeWrite: Int32)? in
                defer { d = nil }; return d
            })
        else { return }
        if settings.listeningDescriptor == nil {
            Glibc.close(open.socket)
            SyslogSocket.remove(settings)
        }
        Glibc.close(open.wakeRead)
        Glibc.close(open.wakeWrite)
    }
}
