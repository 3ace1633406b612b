/// A failure at run time that a restart may fix (a busy socket, log files that cannot be
/// opened, an unreachable collector): the CLI prints `journal-bridge: <message>` on one
/// line, without the usage text, and exits 1. Never exit 78 for these: systemd does not
/// restart on 78 (RestartPreventExitStatus=78 in journal-bridge.service).
package struct RuntimeFailure: Error, CustomStringConvertible, Sendable {
    /// The exit status of a failure at run time.
    package static let exitStatus: Int32 = 1

    /// What failed, in one line.
    package var message: String

    /// A failure described by `message` (one line, without the program's name).
    package init(_ message: String) { self.message = message }

    /// The message with newlines escaped, so that it stays one line.
    package var description: String { ConfigurationError.escaped(message) }
}
