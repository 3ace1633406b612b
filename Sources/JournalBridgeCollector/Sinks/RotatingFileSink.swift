#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Synchronization

/// A text file that rolls over like Python's `RotatingFileHandler`:
/// before a line that would bring the file to `maxBytes` or past it, `base.N-1`
/// becomes `base.N` ... `base` becomes `base.1`, and the oldest falls off.
/// `maxBytes` or `backupCount` 0 means the file never rolls.
///
/// The file is opened only if it is safe for a daemon running as root (no link, FIFO or
/// device, nothing another user owns or may write: see `FileDescriptorIO.openForAppend`),
/// in a directory reached through no link another user owns and held open
/// (`FileDescriptorIO.openDirectory`): rollovers rename in that directory, whatever is
/// renamed above it meanwhile; a reopen (SIGHUP) looks the directory up again.
/// When the file is reopened (SIGHUP, or the new file after a roll) and the path fails those
/// checks, the sink keeps writing the file it has open and says so once, until a reopen works.
public final class RotatingFileSink: LogSink {
    /// How the file rolls and is written.
    public struct Options: Sendable, Equatable {
        /// Size at which the file rolls over (0: never).
        public var maxBytes: Int
        /// Rolled-over copies kept, `path.1` ... `path.N` (0: the file never rolls).
        public var backupCount: Int
        /// The line format.
        public var format: LineFormat
        /// Permissions of a file the sink creates (less the umask). Write permission for the
        /// group and others is never given: such a file would be refused when reopened.
        public var mode: mode_t

        /// 10 MiB, like the Python pattern's files.
        public static let defaultMaxBytes = 10 * 1024 * 1024
        /// 5 rolled-over copies, like the Python pattern's files.
        public static let defaultBackupCount = 5

        /// The defaults (10 MiB, 5 copies, the Python pattern's line, mode 0640) unless set.
        public init(
            maxBytes: Int = Options.defaultMaxBytes, backupCount: Int = Options.defaultBackupCount,
            format: LineFormat = .defaultFile,
            mode: mode_t = 0o640
        ) {
            self.maxBytes = maxBytes
            self.backupCount = backupCount
            self.format = format
            self.mode = mode
        }
    }

    private struct State {
        var fd: Int32 = -1
        /// The directory holding the file (`openat`, `renameat`).
        var directory: Int32 = -1
        var size = 0
        var formatter: LineFormatter
        var buffer: [UInt8] = []
        var failure: FailureReport
        /// A reopen was refused and the sink still writes the file it had: said once.
        var keepingOldFile = false
        /// A rollover's rename failed: said once, until a rollover works again.
        var rolloverFailing = false
        var rolloverFailures = 0
        var lastRolloverFailure: String?
        /// After a failed rollover the next is tried a second later, not at every line (each
        /// try is a rename per backup, a lookup and an open).
        var nextRolloverTry: UInt64 = 0
        /// Here rather than a constant so that a reload can change them (`apply`).
        var options: Options
    }

    /// The name in summaries (the path unless named).
    public let name: String
    /// The file.
    public let path: String
    /// Its name in its directory.
    private let fileName: String
    /// How it rolls and is written (a reload may change it: `apply`).
    public var options: Options { state.withLock { $0.options } }
    private let state: ConditionLock<State>
    private let failed = Atomic<Int>(0)
    private let lastFailureReason = ConditionLock<String?>(nil)

    /// Opens (or creates) `path` for appending; throws, naming the file, when it cannot or may not.
    public init(name: String? = nil, path: String, options: Options = Options()) throws(SystemError) {
        self.name = name ?? path
        self.path = path
        self.fileName = String(path[(path.lastIndex(of: "/").map(path.index(after:)) ?? path.startIndex)...])
        let directory = try Self.openDirectory(of: path)
        let fd: Int32
        let size: Int
        do {
            (fd, size) = try FileDescriptorIO.openForAppend(fileName, in: directory, path: path, mode: options.mode)
        } catch {
            Glibc.close(directory)
            throw error
        }
        var initial = State(
            formatter: LineFormatter(options.format), failure: FailureReport(sink: self.name), options: options)
        initial.fd = fd
        initial.directory = directory
        initial.size = size
        initial.buffer.reserveCapacity(64 * 1024)
        self.state = ConditionLock(initial)
    }

    /// Opens the directory holding `path` (made if missing); a failure names the file: a
    /// refusal (a link another user owns), or the failure on the way (not a directory, no
    /// permission).
    private static func openDirectory(of path: String) throws(SystemError) -> Int32 {
        do {
            return try FileDescriptorIO.openDirectory(UnixSocket.parentDirectory(of: path), creating: 0o755)
        } catch {
            throw error.errno == EPERM
                ? FileDescriptorIO.refusal(path, error.call, errno: error.errno)
                : SystemError(call: "open \(path): \(error.call)", errno: error.errno)
        }
    }

    /// Records that could not be written.
    public var failedCount: Int { failed.load(ordering: .relaxed) }
    /// Why the last record failed.
    public var lastFailure: String? { lastFailureReason.withLock { $0 } }

    /// Takes new rotation settings and format (a reload); the next record uses them. The mode
    /// applies to files created from now on.
    package func apply(_ options: Options) {
        state.withLock { state in
            if state.options.format != options.format { state.formatter = LineFormatter(options.format) }
            state.options = options
        }
    }

    /// Appends one line per record, rolling the file over first when a line would reach `maxBytes`.
    public func write(_ records: [LogRecord]) {
        state.withLock { state in
            // The file's size as it is: logrotate's copytruncate (or anyone) may have cut it since.
            // A stale size rolled too early, and the cut after a failed write padded the file with NULs.
            var info = stat()
            if state.fd >= 0, fstat(state.fd, &info) == 0 { state.size = Int(info.st_size) }
            var pending = 0  // records in state.buffer
            // Through the buffer's pointer: the records are read where they lie, no copy of each.
            records.withUnsafeBufferPointer { records in
                for index in records.indices {
                    let lineStart = state.buffer.count
                    state.formatter.append(records[index], to: &state.buffer)
                    let lineLength = state.buffer.count - lineStart
                    // Python rolls when size + len(line) >= maxBytes; an empty file never rolls, so
                    // one oversized line makes one oversized file instead of an empty backup.
                    let sizeBefore = state.size + lineStart
                    let rolls = state.options.maxBytes > 0 && state.options.backupCount > 0
                    if rolls && sizeBefore > 0 && sizeBefore + lineLength >= state.options.maxBytes
                        && (state.nextRolloverTry == 0 || MonotonicClock.now() >= state.nextRolloverTry)
                    {
                        let line = Array(state.buffer[lineStart...])
                        state.buffer.removeSubrange(lineStart...)
                        flushBuffer(&state, records: pending)
                        pending = 0
                        rollOver(&state)
                        state.buffer.append(contentsOf: line)
                    }
                    pending += 1
                }
            }
            flushBuffer(&state, records: pending)
        }
    }

    private func flushBuffer(_ state: inout State, records: Int) {
        defer { state.buffer.removeAll(keepingCapacity: true) }
        guard !state.buffer.isEmpty else { return }
        if state.fd < 0 { reopenLocked(&state) }
        do {
            guard state.fd >= 0 else { throw SystemError(call: "open \(path)", errno: ENOENT) }
            let fd = state.fd
            try writeAll(fd, state.buffer)
            state.size += state.buffer.count
            state.failure.recovered()
        } catch {
            // A short write (disk full) leaves part of a line: cut the file back so that
            // every line in it stays whole, and count the batch as not written.
            if state.fd >= 0 { _ = ftruncate(state.fd, off_t(state.size)) }
            failed.add(records, ordering: .relaxed)
            lastFailureReason.withLock { $0 = "\(error)" }
            state.failure.failed("\(error)", records: records)
        }
    }

    private func rollOver(_ state: inout State) {
        // No operation here follows a link: `exists` is lstat, rename(2) moves a link
        // itself (and replaces one at the new name, which is how the oldest backup falls off),
        // and the new file is opened with O_NOFOLLOW. The open file stays open until its
        // successor is: if the new name is refused, the records keep going to this one.
        // Backups are numbered without gaps from .1: find the last one instead of probing every
        // number up to backupCount (Python's loop), which with a large count costs a syscall per number.
        // Only the file being written rolls. Another entry at its name (a file another user made
        // there after the last roll, one logrotate's `create` made that a reopen refused) is not
        // moved in among the backups; nothing there (moved away meanwhile) leaves nothing to move.
        var held = stat()
        var named = stat()
        let present = fstatat(state.directory, fileName, &named, AT_SYMLINK_NOFOLLOW) == 0
        guard present, state.fd >= 0, fstat(state.fd, &held) == 0,
            held.st_dev == named.st_dev, held.st_ino == named.st_ino
        else {
            if present {
                noteRollover(
                    SystemError(call: "roll over \(path): it is not the file being written", errno: EEXIST), &state)
            }
            return reopenLocked(&state)
        }
        var last = 0
        while last < state.options.backupCount - 1
            && FileDescriptorIO.exists("\(fileName).\(last + 1)", in: state.directory)
        {
            last += 1
        }
        // A failed rename (a directory squatting a backup name, a full or read-only file system)
        // stops the roll there: the names below it stay where they are (moved on, the next one
        // would replace the backup that could not move), the file grows, it is reported, and
        // the next roll tries again. A name that vanished meanwhile (ENOENT) is no failure.
        let directory = state.directory
        func move(_ from: String, _ to: String) throws(SystemError) {
            do {
                try syscall("rename \(path)\(from) to \(path)\(to)") {
                    renameat(directory, fileName + from, directory, fileName + to)
                }
            } catch  where error.errno == ENOENT {}
        }
        do throws(SystemError) {
            for index in stride(from: last, through: 1, by: -1) { try move(".\(index)", ".\(index + 1)") }
            try move("", ".1")
        } catch {
            return noteRollover(error, &state)
        }
        noteRollover(nil, &state)
        reopenLocked(&state)
    }

    /// Says a failed rollover once on stderr (the file then grows past `maxBytes`, nothing is
    /// lost) and that it works again when it does; counts every failed one.
    private func noteRollover(_ failure: SystemError?, _ state: inout State) {
        state.nextRolloverTry = failure == nil ? 0 : MonotonicClock.deadline(after: 1)
        if let failure {
            state.rolloverFailures += 1
            state.lastRolloverFailure = "\(failure)"
            if !state.rolloverFailing {
                state.rolloverFailing = true
                StandardError.write(
                    "journal-bridge: \(name): cannot roll over: \(failure); \(path) grows past \(state.options.maxBytes) bytes until a rollover works\n"
                )
            }
        } else if state.rolloverFailing {
            state.rolloverFailing = false
            StandardError.write(
                "journal-bridge: \(name): rolls over again after \(state.rolloverFailures) failed rollovers\n")
        }
    }

    /// Rollovers whose renames failed (said on stderr), and why the last one did.
    package var rolloverFailures: (count: Int, last: String?) {
        state.withLock { ($0.rolloverFailures, $0.lastRolloverFailure) }
    }

    /// Opens `path` afresh and switches to it. If that fails while a file is open, the sink
    /// keeps writing the open file (a path swapped for a link or a FIFO neither redirects nor
    /// silences it) and says so once per episode; with no file open, the failure is counted.
    private func reopenLocked(_ state: inout State) {
        do {
            let (fd, size) = try FileDescriptorIO.openForAppend(
                fileName, in: state.directory, path: path, mode: state.options.mode)
            if state.fd >= 0 { Glibc.close(state.fd) }
            (state.fd, state.size) = (fd, size)
            if state.keepingOldFile {
                state.keepingOldFile = false
                StandardError.write("journal-bridge: \(name): writing \(path) again\n")
            }
        } catch {
            reopenFailed(error, &state)
        }
    }

    /// A refused reopen: the open file, if any, goes on being written (said once per episode);
    /// with none, the failure is counted.
    private func reopenFailed(_ error: SystemError, _ state: inout State) {
        if state.fd >= 0 {
            if !state.keepingOldFile {
                state.keepingOldFile = true
                StandardError.write("journal-bridge: \(name): \(error); still writing the file opened before\n")
            }
        } else {
            state.failure.failed("\(error)", records: 0)
        }
    }

    /// Reopens `path` (after an external logrotate moved it), looking its directory up again,
    /// and keeping the open file if the new one is refused.
    public func reopen() {
        state.withLock { state in
            do throws(SystemError) {
                let directory = try Self.openDirectory(of: path)
                if state.directory >= 0 { Glibc.close(state.directory) }
                state.directory = directory
            } catch {
                return reopenFailed(error, &state)
            }
            reopenLocked(&state)
        }
    }

    /// Writes what is buffered and closes the file.
    public func close() {
        state.withLock { state in
            if state.fd >= 0 { Glibc.close(state.fd) }
            if state.directory >= 0 { Glibc.close(state.directory) }
            state.fd = -1
            state.directory = -1
            state.failure.finish()
        }
    }

    deinit { close() }
}
