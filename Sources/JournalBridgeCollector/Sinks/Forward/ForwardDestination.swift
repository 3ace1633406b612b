/// Where a forward sink sends: `syslog+tcp://HOST:PORT`, `syslog+tls://HOST:PORT` or
/// `relp://HOST:PORT`. HOST is a name, an IPv4 address or an IPv6 address in brackets.
package struct ForwardDestination: Sendable, Equatable, CustomStringConvertible {
    /// How the messages travel.
    package enum Transport: String, Sendable, Equatable {
        /// RFC 5424 over TCP, RFC 6587 octet-counted framing.
        case tcp = "syslog+tcp"
        /// The same inside TLS (RFC 5425).
        case tls = "syslog+tls"
        /// rsyslog's Reliable Event Logging Protocol: every message acknowledged.
        case relp
    }

    package var transport: Transport
    package var host: String
    package var port: Int

    package init(transport: Transport, host: String, port: Int) {
        self.transport = transport
        self.host = host
        self.port = port
    }

    /// Parses a URL, or says what is wrong with it (for `--forward` and the `forward` key).
    package init(parsing url: String) throws(ForwardDestination.Problem) {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else {
            throw Problem("\"\(url)\": expected syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT or relp://HOST:PORT")
        }
        guard let transport = Transport(rawValue: url[..<colon].lowercased()) else {
            throw Problem("\"\(url)\": unknown scheme \"\(url[..<colon])\" (syslog+tcp, syslog+tls or relp)")
        }
        var rest = url[url.index(colon, offsetBy: 3)...]
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else {
                throw Problem("\"\(url)\": expected [IPv6]:PORT")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            portText = rest[rest.index(close, offsetBy: 2)...]
        } else {
            guard let colon = rest.lastIndex(of: ":") else { throw Problem("\"\(url)\": no port (HOST:PORT)") }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard !host.isEmpty,
            host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":") })
        else {
            throw Problem("\"\(url)\": bad host \"\(host)\"")
        }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw Problem("\"\(url)\": bad port \"\(portText)\" (1-65535)")
        }
        self.init(transport: transport, host: String(host), port: port)
    }

    package var description: String {
        "\(transport.rawValue)://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// Why a URL was refused.
    package struct Problem: Error, Sendable, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }
}
