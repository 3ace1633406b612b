import CJournalBridgeShims
import CSystemd  // its headers bring SOCK_STREAM and SOCK_DGRAM into Swift in every build mode
#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// Opens the socket of a syslog endpoint: Unix ones through `UnixSocket.listen` (mode at
/// bind, group through an O_PATH descriptor, a stale socket replaced, a live one an error),
/// network ones bound to HOST:PORT. Non-blocking, close-on-exec.
package enum SyslogSocket {
    /// The input's socket: systemd's, or one bound now as `settings.endpoint` says.
    package static func open(_ settings: SyslogInputSettings) throws(SystemError) -> Int32 {
        if let fd = settings.listeningDescriptor {
            try UnixSocket.setNonBlocking(fd)
            return fd
        }
        switch settings.endpoint {
        case .unixDatagram(let path), .unixStream(let path):
            try FileDescriptorIO.createParentDirectory(of: path)
            let type = settings.endpoint.isStream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
            return try UnixSocket.listen(path: path, mode: settings.socketMode, group: settings.socketGroup, type: type)
        case .tcp(let host, let port), .udp(let host, let port):
            return try syscall("bind \(settings.endpoint)") {
                c_jb_inet_bind(host, port, settings.endpoint.isStream ? 1 : 0, 1024)
            }
        }
    }

    /// Unlinks the socket file of a Unix endpoint the input bound itself.
    package static func remove(_ settings: SyslogInputSettings) {
        guard settings.listeningDescriptor == nil else { return }
        switch settings.endpoint {
        case .unixDatagram(let path), .unixStream(let path): unlink(path)
        case .tcp, .udp: break
        }
    }

    /// The bound address as text (`127.0.0.1:5140`, for a port 0 the kernel chose), nil for a Unix socket.
    package static func localAddress(_ fd: Int32) -> String? {
        var text = [CChar](repeating: 0, count: 80)
        guard c_jb_local_address(fd, &text, UInt(text.count)) == 0, text[0] != 0 else { return nil }
        return String(cString: text)
    }
}
