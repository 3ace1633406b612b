import CSystemd
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Synchronization

/// The daemon's side of systemd: socket activation, readiness, watchdog.
/// All of it is a no-op when not run by systemd (no LISTEN_FDS / NOTIFY_SOCKET).
public enum Systemd {
    /// The listening socket systemd passed (`sd_listen_fds`), if any: fd 3.
    /// `excluding`: descriptors taken by other inputs (the syslog sockets, `SyslogActivation`).
    public static func activatedSocket(excluding: Set<Int32> = []) -> Int32? {
        let count = sd_listen_fds(1)
        guard count >= 1 else { return nil }
        guard let fd = (SD_LISTEN_FDS_START..<SD_LISTEN_FDS_START + count).first(where: { !excluding.contains($0) }) else { return nil }
        guard sd_is_socket_unix(fd, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0 else {
            StandardError.write("journal-bridge: the socket systemd passed (fd \(fd)) is not a listening Unix stream socket; ignoring it\n")
            return nil
        }
        return fd
    }

    public static func notify(_ state: String) {
        _ = sd_notify(0, state)
    }

    /// The watchdog interval systemd asked for (`WatchdogSec=`), in microseconds.
    public static func watchdogInterval() -> UInt64? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return usec
    }
}

/// Pings systemd's watchdog at half its interval while the collector's loop is alive.
final class WatchdogPinger: Sendable {
    private let running = Atomic<Bool>(true)
    private let thread = ConditionLock<pthread_t?>(nil)

    init?(isAlive: @escaping @Sendable () -> Bool) {
        guard let interval = Systemd.watchdogInterval() else { return nil }
        let started = startThread(name: "jb-watchdog") { [weak self] in
            while self?.running.load(ordering: .relaxed) == true {
                if isAlive() { Systemd.notify("WATCHDOG=1") }
                usleep(useconds_t(min(interval / 2, UInt64(UInt32.max))))
            }
        }
        thread.withLock { $0 = started }
    }

    func stop() {
        running.store(false, ordering: .relaxed)
    }
}
