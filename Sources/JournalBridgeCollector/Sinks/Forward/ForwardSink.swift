import JournalBridge
import Synchronization

/// Sends every record it takes to a central syslog receiver (rsyslog, syslog-ng) as RFC 5424
/// (`SyslogFormatter`) over TCP, TLS or RELP (`ForwardDestination`).
///
/// `write` formats the records and puts them in the sink's bounded buffer
/// (`ForwardBuffer`), and returns: it never waits for the receiver, so a receiver that is
/// slow or away never slows journald, the files or the workers. Taken into the buffer, a
/// record is disposed of for the collector's acknowledgement (docs/reliability.md); the
/// buffer then promises at-least-once delivery to the receiver for as long as it holds the
/// record: a record leaves it only once forwarded (RELP: acknowledged by the receiver;
/// TCP, TLS: written to the socket). Past the buffer's bounds the oldest are dropped,
/// counted in `failedCount` and reported (to the receiver by a record of its own, to the
/// other sinks by the router).
package final class ForwardSink: LogSink {
    package let name: String
    package let destination: ForwardDestination
    package let buffer: ForwardBuffer
    private let options: ForwardOptions
    private let formatter: SyslogFormatter
    private let link: ForwardLink
    private let closed = Atomic<Bool>(false)
    private let lostAtClose = Atomic<Int>(0)

    /// The directory `destination`'s spill goes to under `forward_spill`: one per receiver.
    package static func spillDirectory(of destination: ForwardDestination, in directory: String) -> String {
        let name = "\(destination.transport.rawValue)-\(destination.host)-\(destination.port)".map {
            $0 == ":" ? "_" : $0
        }
        return directory + "/" + String(name)
    }

    /// Throws only when the spill directory cannot be made or is not safe to use.
    package init(
        destination: ForwardDestination, options: ForwardOptions, formatter: SyslogFormatter = SyslogFormatter()
    ) throws(SystemError) {
        self.name = "forward \(destination)"
        self.destination = destination
        self.options = options
        self.formatter = formatter
        let spill = try options.spillDirectory.map { directory throws(SystemError) in
            try ForwardSpill(
                directory: Self.spillDirectory(of: destination, in: directory), maximumBytes: options.spillBytes)
        }
        self.buffer = ForwardBuffer(
            maximumRecords: options.bufferRecords, maximumBytes: options.bufferBytes, spill: spill)
        self.link = ForwardLink(destination: destination, buffer: buffer, options: options, formatter: formatter)
    }

    package func write(_ records: [LogRecord]) {
        buffer.append(formatter.format(records))
        link.kick()
    }

    /// Nudges a link that waits for something to send (a reconnection runs on its own timer).
    package func idle() { link.kick() }

    /// Records dropped from a full buffer, and those still held at close.
    package var failedCount: Int { buffer.dropped + lostAtClose.load(ordering: .relaxed) }

    /// Records the receiver has (acknowledged or written to the socket).
    package var forwardedCount: Int { buffer.confirmed }

    package var lastFailure: String? {
        if let problem = link.lastProblem ?? buffer.spillProblem { return problem }
        return buffer.dropped > 0 ? "buffer full" : nil
    }

    /// Gives the receiver up to `drainSeconds` to take what is held, then closes; what is
    /// left is counted as failed and said on stderr. Again: nothing.
    package func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        link.kick()
        let left = buffer.waitUntilEmpty(deadline: MonotonicClock.deadline(after: options.drainSeconds))
        link.shutdown()
        let lost = buffer.removeAll()
        if lost > 0 {
            lostAtClose.add(lost, ordering: .relaxed)
            StandardError.write(
                "journal-bridge: \(name): closing with \(lost) records never forwarded (\(link.lastProblem ?? "receiver too slow"))\n"
            )
        } else if left > 0, let directory = options.spillDirectory {
            StandardError.write("journal-bridge: \(name): \(left) records kept in \(directory) for the next start\n")
        }
    }

    /// The thread-owner rule (`OwnedThread`): the link's event loop thread holds the link, not
    /// the sink, so a sink released without `close()` still stops and joins it.
    deinit { close() }
}
