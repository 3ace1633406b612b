import JournalBridge

/// The collector's sessions, each keyed by the kernel identity of the process that
/// opened it (SO_PEERCRED) as well as the id its hello named: a shipper reconnects
/// from the same process, so it finds its session again, while another process
/// presenting the same id (read from `JB_SESSION` in the journal, say) gets a fresh
/// session of its own and can neither see nor move the first one's progress.
///
/// Bounded: sessions without a connection are forgotten after `idleLimit`, and,
/// when the table holds `capacity`, the longest idle first. Forgetting a session
/// loses nothing: its shipper resends what was not acknowledged, and the fresh
/// session takes its baseline from the first record (at worst a record routed but
/// not yet acknowledged is stored twice, as after a collector restart).
/// Owned by the collector's I/O thread.
struct SessionTable {
    struct Key: Hashable {
        var uid: UInt32
        var pid: Int32
        var id: UInt64
    }

    private struct Entry {
        let session: ClientSession
        /// Open connections using the session; it is never forgotten while one is.
        var connections: Int
        /// Monotonic time its last connection closed.
        var idleSince: UInt64
    }

    /// Sessions kept before the longest idle are forgotten (a quarter of them at a time).
    static let capacity = 65536
    /// A session without a connection for this long is forgotten (its process is most likely gone).
    static let idleLimit: UInt64 = 600 * 1_000_000_000
    /// How often the idle ones are looked for (a walk over the table, on a hello).
    static let sweepInterval: UInt64 = 60 * 1_000_000_000

    private var entries: [Key: Entry] = [:]
    private var lastSweep: UInt64 = 0

    var count: Int { entries.count }

    /// The session `key` names, created (with no progress) when the table does not hold
    /// it; one more connection uses it until `release`.
    mutating func open(_ key: Key, now: UInt64 = MonotonicClock.now()) -> ClientSession {
        if var entry = entries[key] {
            entry.connections += 1
            entries[key] = entry
            return entry.session
        }
        if now &- lastSweep >= Self.sweepInterval {
            lastSweep = now
            entries = entries.filter { $0.value.connections > 0 || now &- $0.value.idleSince < Self.idleLimit }
        }
        if entries.count >= Self.capacity { forgetLongestIdle() }
        let session = ClientSession(key: key)
        entries[key] = Entry(session: session, connections: 1, idleSince: now)
        return session
    }

    /// A connection that used `key` closed.
    mutating func release(_ key: Key, now: UInt64 = MonotonicClock.now()) {
        guard var entry = entries[key] else { return }
        entry.connections -= 1
        entry.idleSince = now
        entries[key] = entry
    }

    /// Forgets a quarter of the table, longest idle first (one sort per quarter-table of
    /// hellos, not per hello). Sessions in use stay: there are at most as many as connections.
    private mutating func forgetLongestIdle() {
        let idle = entries.filter { $0.value.connections == 0 }.sorted { $0.value.idleSince < $1.value.idleSince }
        for (key, _) in idle.prefix(Self.capacity / 4) { entries[key] = nil }
    }
}
