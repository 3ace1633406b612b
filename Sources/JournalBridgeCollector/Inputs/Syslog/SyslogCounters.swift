import Synchronization

/// What a syslog input saw and did, for its reports: nothing it cuts, fails to parse or
/// learns the kernel dropped goes uncounted.
package final class SyslogCounters: Sendable {
    /// Messages received (those the rate limit suppressed among them).
    package let messages = Atomic<Int>(0)
    /// Messages stored with `JB_SYSLOG_ERROR` (malformed; stored all the same).
    package let parseFailures = Atomic<Int>(0)
    /// Messages cut to `maximumMessageBytes`, and the bytes cut from them.
    package let cutMessages = Atomic<Int>(0)
    package let cutBytes = Atomic<Int>(0)
    /// Stream frames that began with digits that were no octet count.
    package let framingFallbacks = Atomic<Int>(0)
    /// Datagrams the kernel dropped on our socket because its receive queue was full (`SO_RXQ_OVFL`).
    package let kernelDrops = Atomic<Int>(0)
    /// Connections closed at once because `maxConnections` were open, or no memory was left.
    package let refusedConnections = Atomic<Int>(0)
    /// Connections closed for sending no whole message for `SyslogStreamLoop.idleLimit` while
    /// the input's memory was needed (`SyslogStreamLoop.closeIdle`).
    package let idleClosed = Atomic<Int>(0)
    /// Connections taken, in all.
    package let connections = Atomic<Int>(0)
    /// Connections open now.
    package let openConnections = Atomic<Int>(0)

    package init() {}

    /// One line for the daemon's last words and reports.
    package var summary: String {
        var parts = ["\(messages.load(ordering: .relaxed)) messages"]
        parts.append("\(parseFailures.load(ordering: .relaxed)) malformed")
        parts.append("\(cutMessages.load(ordering: .relaxed)) cut (\(cutBytes.load(ordering: .relaxed)) bytes)")
        parts.append("\(kernelDrops.load(ordering: .relaxed)) dropped by the kernel")
        let fallbacks = framingFallbacks.load(ordering: .relaxed)
        if fallbacks > 0 { parts.append("\(fallbacks) framing fallbacks") }
        let refused = refusedConnections.load(ordering: .relaxed)
        if refused > 0 { parts.append("\(refused) connections refused") }
        let idle = idleClosed.load(ordering: .relaxed)
        if idle > 0 { parts.append("\(idle) idle connections closed for room") }
        return parts.joined(separator: ", ")
    }
}
