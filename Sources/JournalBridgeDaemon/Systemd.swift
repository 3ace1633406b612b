import CSystemd
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Synchronization

/// The daemon's side of systemd: socket activation, readiness, watchdog.
/// All of it is a no-op when not run by systemd (no LISTEN_FDS / NOTIFY_SOCKET).
package enum Systemd {
    /// The bridge's sockets systemd passed (`sd_listen_fds`), `excluding` those taken by other
    /// inputs (the syslog sockets, `SyslogActivation`): of the rest, in the order systemd passed
    /// them, the first is the listening socket and the second the control channel's, as the
    /// socket unit lists them (`ListenStream=` twice). Not "fd 3 and fd 4": systemd passes the
    /// sockets of several units (journal-bridge.socket, journal-bridge-syslog.socket) in no
    /// promised order, and after a reboot the syslog socket came first, the control channel
    /// then took the listening socket and the workers' records met the control protocol.
    /// Clears the environment (`sd_listen_fds(1)`): call once, after `SyslogActivation`.
    package static func activatedSockets(excluding: Set<Int32> = []) -> (listening: Int32?, control: Int32?) {
        let count = sd_listen_fds(1)
        guard count >= 1 else { return (nil, nil) }
        let ours = (SD_LISTEN_FDS_START..<SD_LISTEN_FDS_START + count).filter { !excluding.contains($0) }
        let sockets = ours.prefix(2).map { fd -> Int32? in
            guard sd_is_socket_unix(fd, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0 else {
                StandardError.write(
                    "journal-bridge: the socket systemd passed (fd \(fd)) is not a listening Unix stream socket; ignoring it\n"
                )
                return nil
            }
            return fd
        }
        return (sockets.first ?? nil, sockets.count > 1 ? sockets[1] : nil)
    }

    package static func notify(_ state: String) {
        _ = sd_notify(0, state)
    }

    /// The watchdog interval systemd asked for (`WatchdogSec=`), in microseconds.
    package static func watchdogInterval() -> UInt64? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return usec
    }
}

/// Pings systemd's watchdog at half its interval while the collector's loop is alive.
/// Thread owner (`OwnedThread`): started in `init`, `stop()` wakes and joins it, `deinit` stops.
final class WatchdogPinger: Sendable {
    /// True once stopping; the thread sleeps on it, so `stop()` wakes it at once.
    private let stopping = ConditionLock(false)
    private let thread = OwnedThread()

    init?(isAlive: @escaping @Sendable () -> Bool) {
        guard let interval = Systemd.watchdogInterval() else { return nil }
        let stopping = self.stopping
        thread.start(name: "jb-watchdog") {
            while true {
                if isAlive() { Systemd.notify("WATCHDOG=1") }
                let stop = stopping.wait(until: { $0 }, deadline: MonotonicClock.now() &+ interval * 1000 / 2) {
                    _, stop in stop
                }
                if stop { return }
            }
        }
    }

    deinit { stop() }

    func stop() {
        stopping.withLock { stopping in
            stopping = true
            self.stopping.broadcast()
        }
        thread.join()
    }
}
