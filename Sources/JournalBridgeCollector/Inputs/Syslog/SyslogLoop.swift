import JournalBridge

/// What the thread of a syslog input holds, whichever its kind (`SyslogDatagramLoop`,
/// `SyslogStreamLoop`): its socket, the wake pipe's read end, its settings and counters, and
/// its way to the collector. Everything it touches is its own, or thread-safe.
class SyslogLoop: @unchecked Sendable {
    let socket: Int32
    let wake: Int32
    let settings: SyslogInputSettings
    let counters: SyslogCounters
    /// Rate limit and counters per input and source, as the bridge input's; one per input,
    /// shared by its threads.
    let delivery: SyslogDelivery
    var context: InputContext { delivery.context }

    /// Messages routed at a time: one `route` call per batch keeps up with floods.
    static let batch = 256
    /// ...or fewer, once they hold this many bytes: a batch is not yet in the memory budget (the
    /// sink queues charge it when it is routed), so it is bounded here. 256 messages of 64 KiB,
    /// a malformed one's bytes held twice (`MESSAGE`, `SYSLOG_RAW`), were 33 MB; 64 KiB of
    /// 3-byte frames from one read, 21,845 records.
    static let batchBytes = 256 * 1024

    init(socket: Int32, wake: Int32, settings: SyslogInputSettings, counters: SyslogCounters, delivery: SyslogDelivery)
    {
        self.socket = socket
        self.wake = wake
        self.settings = settings
        self.counters = counters
        self.delivery = delivery
    }

    /// A count an input says through the sinks as it grows (kernel drops, refused
    /// connections): at its first growth, then at most once each `interval`, and at stop.
    struct GrowthReport {
        static let interval: UInt64 = 10_000_000_000
        private var reported = 0
        private var last: UInt64 = 0

        /// How much `count` grew since it was last said, when it is time to say it (`force`:
        /// at stop); nil otherwise. Returning a number counts it as said.
        mutating func due(_ count: Int, force: Bool) -> Int? {
            guard count > reported else { return nil }
            let now = MonotonicClock.now()
            guard force || last == 0 || now &- last >= Self.interval else { return nil }
            defer { (reported, last) = (count, now) }
            return count - reported
        }
    }
}
