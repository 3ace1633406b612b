#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Synchronization

/// `[INFO] message` lines on a terminal stream (stderr by default), escaped like the files.
public final class ConsoleSink: LogSink {
    private struct State {
        var formatter: LineFormatter
        var buffer: [UInt8] = []
    }

    /// `console` unless named otherwise.
    public let name: String
    private let fd: Int32
    private let state: ConditionLock<State>
    private let failed = Atomic<Int>(0)

    /// A sink writing to descriptor `fd` (stderr unless set) in `format`.
    public init(name: String = "console", fd: Int32 = 2, format: LineFormat = .defaultConsole) {
        self.name = name
        self.fd = fd
        self.state = ConditionLock(State(formatter: LineFormatter(format)))
    }

    /// Records that could not be written.
    public var failedCount: Int { failed.load(ordering: .relaxed) }

    /// Takes a new line format (a reload); the next record uses it.
    package func setFormat(_ format: LineFormat) {
        state.withLock { $0.formatter = LineFormatter(format) }
    }

    /// Writes one line per record.
    public func write(_ records: [LogRecord]) {
        state.withLock { state in
            // Through the buffer's pointer, as the file sink: the records are read where they lie.
            records.withUnsafeBufferPointer { records in
                for index in records.indices { state.formatter.append(records[index], to: &state.buffer) }
            }
            let fd = self.fd
            do {
                try writeAll(fd, state.buffer)
            } catch {
                // A closed terminal is no reason to stop the other sinks; count and go on.
                failed.add(records.count, ordering: .relaxed)
            }
            state.buffer.removeAll(keepingCapacity: true)
        }
    }
}
