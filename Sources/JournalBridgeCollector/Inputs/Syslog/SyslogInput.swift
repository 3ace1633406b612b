import JournalBridge

/// A syslog listener the collector starts and stops beside the bridge's own socket; each owns
/// its socket(s) and one thread with a poll loop, and routes what it parses to the `Router`.
///
/// Lifecycle, driven by `Collector`: `start` (socket bound or adopted, thread running), then
/// at stop `stopReading` (what peers already sent is read and routed; the thread is joined),
/// the router drains the sinks, then `close` (every descriptor closed, a socket file it bound removed).
package protocol SyslogInput: AnyObject, Sendable {
    /// The flag that configures it: `syslog-socket`, `syslog-stream`, `syslog-tcp`, `syslog-udp`.
    var name: String { get }
    var settings: SyslogInputSettings { get }
    var counters: SyslogCounters { get }
    /// Binds (or adopts) the socket and starts the thread; a failure leaves nothing open.
    func start(router: Router, budget: MemoryBudget) throws(SystemError)
    func stopReading()
    func close()
    /// Open connections (0 for a datagram input).
    var connectionCount: Int { get }
}

/// The input for an endpoint.
package func makeSyslogInput(_ settings: SyslogInputSettings) -> any SyslogInput {
    settings.endpoint.isStream ? SyslogStreamInput(settings: settings) : SyslogDatagramInput(settings: settings)
}

/// What the daemon says about its syslog inputs.
package enum SyslogInputs {
    /// `syslog-tcp 127.0.0.1:0 (listening on 127.0.0.1:40123)`: the bound address for a port 0.
    package static func describe(_ input: any SyslogInput) -> String {
        let bound = (input as? SyslogStreamInput)?.localAddress ?? (input as? SyslogDatagramInput)?.localAddress
        return "syslog input \(input.settings.endpoint)" + (bound.map { " (listening on \($0))" } ?? "")
    }
}
