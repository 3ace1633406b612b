import JournalBridge

/// A destination for records. Every sink is safe to call from many threads:
/// it serialises its own writes.
public protocol LogSink: AnyObject, Sendable {
    /// Short name for summaries and errors: `journald`, `error-file`, ...
    var name: String { get }
    /// Writes the records, in order. Never throws: a sink counts and reports its own failures.
    func write(_ records: [LogRecord])
    /// Pushes anything buffered to the kernel.
    func flush()
    /// Closes and reopens its files (after an external logrotate moved them).
    func reopen()
    func close()
    /// Called about once a second when the sink has had nothing to write: time to retry
    /// what failed (a journald that came back).
    func idle()
    /// Records this sink could not store (disk full, journald absent...). They were
    /// acknowledged all the same: the sink has disposed of them (docs/protocol.md, "ack").
    var failedCount: Int { get }
    /// Records stored in a changed form so that the destination takes them (journald:
    /// metadata that did not fit as fields, packed into `JB_METADATA`).
    var packedCount: Int { get }
    /// Why the last failure counted in `failedCount` happened, if the sink says.
    var lastFailure: String? { get }
}

extension LogSink {
    /// Nothing buffered: nothing to do.
    public func flush() {}
    /// No files: nothing to do.
    public func reopen() {}
    /// Nothing to close.
    public func close() {}
    /// Nothing to retry.
    public func idle() {}
    /// Stores every record as it is.
    public var packedCount: Int { 0 }
    /// Says nothing about failures.
    public var lastFailure: String? { nil }
}
