import Logging

/// What every forward sink of a collector shares: the files for TLS, the buffer's bounds.
package struct ForwardOptions: Sendable, Equatable {
    /// CA certificates (PEM) that a `syslog+tls` receiver's certificate must chain to; nil:
    /// the system's trust store.
    package var caFile: String?
    /// A client certificate (PEM) and its key, for receivers that ask for one.
    package var certificateFile: String?
    package var keyFile: String?
    /// Records kept for a receiver that is away or slow, and their bytes (formatted). Past
    /// either bound the oldest are dropped, counted and reported.
    package var bufferRecords = 100_000
    package var bufferBytes = 64 * 1024 * 1024
    /// RELP: messages sent and not yet acknowledged, at most.
    package var relpWindow = 128
    /// At close, how long the sink may still try to deliver what it holds.
    package var drainSeconds = 10.0

    /// A directory for what does not fit in memory (`ForwardSpill`; one subdirectory per
    /// receiver), and the bytes it may hold per receiver. nil: no spill.
    package var spillDirectory: String?
    package var spillBytes = 1024 * 1024 * 1024

    package init() {}
}
