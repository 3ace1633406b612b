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
    /// Records this sink could not store (disk full, journald absent...).
    var failedCount: Int { get }
}

extension LogSink {
    public func flush() {}
    public func reopen() {}
    public func close() {}
    public func idle() {}
}
