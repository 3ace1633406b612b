#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// How one syslog input runs: where, and its limits.
package struct SyslogInputSettings: Sendable, Equatable {
    package var endpoint: SyslogEndpoint
    /// A socket systemd passed (socket activation, matched by `FileDescriptorName=`): the
    /// input neither binds nor unlinks it.
    package var listeningDescriptor: Int32?
    /// Bytes kept of one message (`syslog_max_message`); the rest is cut with a visible marker and counted.
    package var maximumMessageBytes: Int
    /// Permissions and group of a Unix socket the input binds itself (as the bridge's socket).
    package var socketMode: mode_t
    package var socketGroup: gid_t?
    /// Stream connections beyond this are accepted and closed at once, counted.
    package var maxConnections: Int
    /// The record's identifier when the message names no program.
    package var defaultIdentifier: String

    package init(
        endpoint: SyslogEndpoint, listeningDescriptor: Int32? = nil,
        maximumMessageBytes: Int = SyslogFramer.defaultMaximumMessageBytes,
        socketMode: mode_t = 0o666, socketGroup: gid_t? = nil, maxConnections: Int = 1024,
        defaultIdentifier: String = "unknown"
    ) {
        self.endpoint = endpoint
        self.listeningDescriptor = listeningDescriptor
        self.maximumMessageBytes = max(1, maximumMessageBytes)
        self.socketMode = socketMode
        self.socketGroup = socketGroup
        self.maxConnections = maxConnections
        self.defaultIdentifier = defaultIdentifier
    }
}
