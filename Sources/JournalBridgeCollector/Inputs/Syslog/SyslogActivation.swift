import CSystemd
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// Syslog sockets passed by systemd (socket activation), each told apart by its socket unit's
/// `FileDescriptorName=`: `syslog-socket` (Unix datagram), `syslog-stream` (Unix stream),
/// `syslog-tcp`, `syslog-udp`. The service itself then binds nothing, so it keeps
/// `PrivateNetwork=yes` even when it listens on the network.
package enum SyslogActivation {
    package static let names: Set<String> = ["syslog-socket", "syslog-stream", "syslog-tcp", "syslog-udp"]

    /// The passed descriptors named for syslog, leaving the environment for `Systemd.activatedSockets`.
    package static func descriptors() -> [(name: String, fd: Int32)] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(0, &names)
        guard count > 0, let names else { return [] }
        defer {
            for index in 0..<Int(count) { free(names[index]) }
            free(names)
        }
        var found: [(name: String, fd: Int32)] = []
        for index in 0..<Int(count) {
            guard let raw = names[index] else { continue }
            let name = String(cString: raw)
            if Self.names.contains(name) { found.append((name, SD_LISTEN_FDS_START + Int32(index))) }
        }
        return found
    }

    /// The inputs to run: one per descriptor systemd passed; the configured endpoints of a kind
    /// systemd passed none of are bound by the collector itself.
    package static func settings(
        configured: [SyslogEndpoint], activated: [(name: String, fd: Int32)], template: SyslogInputSettings
    ) -> [SyslogInputSettings] {
        var result: [SyslogInputSettings] = []
        let activatedNames = Set(activated.map(\.name))
        for (name, fd) in activated {
            var settings = template
            settings.endpoint = kind(name, fd: fd)
            settings.listeningDescriptor = fd
            result.append(settings)
        }
        for endpoint in configured where !activatedNames.contains(endpoint.name) {
            var settings = template
            settings.endpoint = endpoint
            result.append(settings)
        }
        return result
    }

    /// An endpoint of the kind `name` says; the address only names it in messages.
    private static func kind(_ name: String, fd: Int32) -> SyslogEndpoint {
        let label = "fd \(fd) from systemd"
        switch name {
        case "syslog-stream": return .unixStream(path: label)
        case "syslog-tcp": return .tcp(host: label, port: "")
        case "syslog-udp": return .udp(host: label, port: "")
        default: return .unixDatagram(path: label)
        }
    }
}
