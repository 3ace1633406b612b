#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// Where a syslog input listens; its `name` is the flag, the configuration key (with `_`)
/// and the systemd `FileDescriptorName=` that selects it.
package enum SyslogEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// The way `/dev/log` works: one datagram a message, the kernel's credentials with each.
    case unixDatagram(path: String)
    /// RFC 6587 framing on a Unix stream socket; the kernel's credentials per connection.
    case unixStream(path: String)
    /// RFC 6587 framing over TCP; pid 0 and the peer's address.
    case tcp(host: String, port: String)
    /// One datagram a message over UDP; pid 0 and the peer's address.
    case udp(host: String, port: String)

    /// The datagram socket the shipped socket unit binds, as `/dev/log` for this bridge.
    package static let defaultSocketPath = "/run/journal-bridge/syslog"

    /// `syslog-socket`, `syslog-stream`, `syslog-tcp` or `syslog-udp`.
    package var name: String {
        switch self {
        case .unixDatagram: "syslog-socket"
        case .unixStream: "syslog-stream"
        case .tcp: "syslog-tcp"
        case .udp: "syslog-udp"
        }
    }

    /// Framed by RFC 6587 on connections (else one datagram, one message).
    package var isStream: Bool {
        switch self {
        case .unixStream, .tcp: true
        case .unixDatagram, .udp: false
        }
    }

    /// Unix sockets carry the kernel's credentials; network ones only an address.
    package var isUnix: Bool {
        switch self {
        case .unixDatagram, .unixStream: true
        case .tcp, .udp: false
        }
    }

    /// The name and the address, for messages: `syslog-tcp 127.0.0.1:514`.
    package var description: String {
        switch self {
        case .unixDatagram(let path), .unixStream(let path): "\(name) \(path)"
        case .tcp(let host, let port), .udp(let host, let port):
            "\(name) \(host.contains(":") ? "[\(host)]" : host):\(port)"
        }
    }

    /// `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (every address); nil when it is none of them.
    package static func hostAndPort(_ text: String) -> (host: String, port: String)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        let port = String(text[text.index(after: colon)...])
        guard let number = Int(port), (0...65535).contains(number) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.contains(" ") else { return nil }
        return (host, port)
    }

    /// The endpoint a flag or key names: `syslog-socket` and `syslog-stream` take a path,
    /// `syslog-tcp` and `syslog-udp` a `HOST:PORT`. Nil with the problem otherwise.
    package static func parse(name: String, value: String) -> Result<SyslogEndpoint, SyslogEndpointError> {
        switch name {
        case "syslog-socket", "syslog-stream":
            guard !value.isEmpty else { return .failure(SyslogEndpointError("empty path")) }
            if let problem = UnixSocket.pathProblem(value) { return .failure(SyslogEndpointError(problem)) }
            return .success(name == "syslog-socket" ? .unixDatagram(path: value) : .unixStream(path: value))
        case "syslog-tcp", "syslog-udp":
            guard let (host, port) = hostAndPort(value) else {
                return .failure(
                    SyslogEndpointError("\"\(value)\": expected HOST:PORT, such as 127.0.0.1:514 or [::1]:514"))
            }
            return .success(name == "syslog-tcp" ? .tcp(host: host, port: port) : .udp(host: host, port: port))
        default:
            return .failure(SyslogEndpointError("no syslog input \(name)"))
        }
    }
}

/// Why a syslog endpoint was refused.
package struct SyslogEndpointError: Error, Sendable {
    /// What is wrong, for the flag's or key's message.
    package var problem: String
    init(_ problem: String) { self.problem = problem }
}
