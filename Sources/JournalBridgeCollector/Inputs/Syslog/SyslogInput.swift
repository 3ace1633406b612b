import JournalBridge

/// A syslog listener, an `Input` of the collector beside the bridge's own: it owns its
/// socket(s) and one thread with a poll loop (the thread-owner rule, `OwnedThread`), and
/// delivers what it parses through its `InputContext`, with the kernel's identity of the sender.
package protocol SyslogInput: Input {
    /// Where it listens and its limits.
    var settings: SyslogInputSettings { get }
    /// What it saw: messages, malformed, cut, dropped by the kernel, refused connections.
    var counters: SyslogCounters { get }
}

/// The input for an endpoint.
package func makeSyslogInput(_ settings: SyslogInputSettings) -> any SyslogInput {
    SyslogSocketInput(settings: settings)
}

/// What the daemon says about its syslog inputs.
package enum SyslogInputs {
    /// `syslog-tcp 127.0.0.1:0 (listening on 127.0.0.1:40123)`: the bound address for a port 0.
    package static func describe(_ input: any SyslogInput) -> String {
        let bound = (input as? SyslogSocketInput)?.localAddress
        return "syslog input \(input.settings.endpoint)" + (bound.map { " (listening on \($0))" } ?? "")
    }
}
