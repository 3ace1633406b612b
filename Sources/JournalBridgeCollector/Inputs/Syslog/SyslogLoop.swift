import JournalBridge

/// What the thread of a syslog input holds, whichever its kind (`SyslogDatagramLoop`,
/// `SyslogStreamLoop`): its socket, the wake pipe's read end, its settings and counters, and
/// its way to the collector. Everything it touches is its own, or thread-safe.
class SyslogLoop: @unchecked Sendable {
    let socket: Int32
    let wake: Int32
    let settings: SyslogInputSettings
    let counters: SyslogCounters
    let context: InputContext
    /// Rate limit and counters per input and source, as the bridge input's; one per input,
    /// shared by its threads.
    let delivery: SyslogDelivery

    init(socket: Int32, wake: Int32, settings: SyslogInputSettings, counters: SyslogCounters, delivery: SyslogDelivery)
    {
        self.socket = socket
        self.wake = wake
        self.settings = settings
        self.counters = counters
        self.context = delivery.context
        self.delivery = delivery
    }
}
