#if canImport(Glibc)
import Glibc
#endif

/// How a worker's shipper finds the collector and what it does when the collector cannot keep up.
public struct ShipperConfiguration: Sendable {
    /// The collector's socket. nil: `JOURNAL_BRIDGE_SOCKET`, else `/run/journal-bridge/journal-bridge.sock`.
    public var socketPath: String?
    /// `SYSLOG_IDENTIFIER` of every record (`journalctl -t`); the program name by default.
    public var identifier: String
    /// Records held at most: queued, being sent, or sent and not yet acknowledged (16 to 2^30).
    public var capacity: Int
    /// What `log` does when the shipper already holds `capacity` records.
    public var overflow: OverflowPolicy
    /// How long a normal process exit waits for queued records to be acknowledged; nil: not at all.
    public var flushAtExit: Double?
    /// Target size of one batch frame (at most 4 MiB, half the protocol's frame limit).
    public var batchBytes: Int
    /// Reconnect backoff, doubling from `minimum` to `maximum` seconds after each failed
    /// connection or lost one (a refusal too); back to `minimum` once the collector acknowledges.
    /// Each is taken between 1 ms and an hour.
    public var reconnectDelay: (minimum: Double, maximum: Double)

    /// A configuration; every default is the one README documents (65,536 records, shed DEBUG/INFO first).
    public init(
        socketPath: String? = nil,
        identifier: String = ProgramName.current,
        capacity: Int = 65536,
        overflow: OverflowPolicy = .shedLowPriority(maxWait: 1.0),
        flushAtExit: Double? = 5.0,
        batchBytes: Int = 64 * 1024,
        reconnectDelay: (minimum: Double, maximum: Double) = (0.05, 2.0)
    ) {
        self.socketPath = socketPath
        self.identifier = identifier
        self.capacity = max(16, capacity)
        self.overflow = overflow
        self.flushAtExit = flushAtExit
        self.batchBytes = batchBytes
        self.reconnectDelay = reconnectDelay
    }

    /// What the shipper runs with: every value brought into a range it can work with, so that
    /// no setting can trap or wedge the worker (a capacity of 0 would make `.block` wait for
    /// ever, `Int.max` overflow its three quarters; a reconnect delay of 0 spin, NaN or
    /// `.infinity` trap when made a deadline). The one home of these bounds.
    package var clamped: ShipperConfiguration {
        var result = self
        result.capacity = min(max(16, capacity), Self.maximumCapacity)
        result.batchBytes = min(max(1, batchBytes), WireProtocol.maxFrameBytes / 2)  // 1: a record a batch
        let minimum = Self.clampedDelay(reconnectDelay.minimum, default: 0.05)
        result.reconnectDelay = (minimum, max(minimum, Self.clampedDelay(reconnectDelay.maximum, default: 2.0)))
        if let wait = flushAtExit, !(wait >= 0) { result.flushAtExit = 0 }  // NaN and negatives: do not wait
        if case .shedLowPriority(let wait) = overflow, !(wait >= 0) { result.overflow = .shedLowPriority(maxWait: 0) }
        return result
    }

    /// Records a shipper holds at most, whatever `capacity` says: 2^30.
    package static let maximumCapacity = 1 << 30

    /// A reconnect delay between 1 ms and an hour; NaN is the default.
    private static func clampedDelay(_ seconds: Double, default value: Double) -> Double {
        seconds.isNaN ? value : min(max(seconds, 0.001), 3600)
    }

    /// The path the shipper connects to: explicit, else the environment, else the default.
    package var resolvedSocketPath: String {
        if let socketPath { return socketPath }
        if let fromEnvironment = getenv(WireProtocol.socketEnvironmentVariable), fromEnvironment.pointee != 0 {
            return String(cString: fromEnvironment)
        }
        return WireProtocol.defaultSocketPath
    }
}

/// What `log` does when the shipper already holds `capacity` records.
public enum OverflowPolicy: Sendable, Equatable {
    /// The default. TRACE...NOTICE are admitted only while the shipper holds less than
    /// three quarters of its capacity and are shed (counted) beyond; WARNING and above may
    /// use the rest and, when that is full too, wait up to `maxWait` seconds for room
    /// before being shed. Every shed record is counted and reported by a record of its own.
    case shedLowPriority(maxWait: Double)
    /// Every level waits for room, however long: lossless, but `log` may block.
    case block
    /// Any record that finds the shipper full is shed (counted) at once; `log` never waits.
    case dropNewest
}
