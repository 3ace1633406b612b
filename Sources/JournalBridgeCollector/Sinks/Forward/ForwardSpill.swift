#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// The forward buffer's overflow on disk: what does not fit in memory while the receiver is
/// away goes, in order, into segment files of about 1 MiB in a directory of its own
/// (`<number>.spill`, each message a 4-byte little-endian length and its bytes), and comes
/// back into memory, oldest segment first, as the receiver takes what memory holds. Past
/// `maximumBytes` the oldest segment is deleted and its records counted as dropped.
///
/// fsync policy: a segment is `fdatasync`ed when it is full and at close, not per message.
/// The spill is for a receiver that is away for minutes and for a collector restart (the
/// segments left at close are read again at the next start, and what memory still held at
/// close is written there first); a host crash may lose the segment being written.
///
/// The directory is created 0700; it, and every segment read back, must belong to this
/// process's user and be writable by nobody else (the daemon may run as root). It is reached
/// through no link another user owns and held open (`FileDescriptorIO.openDirectory`):
/// segments are made, read and removed in it, whatever is renamed above it. Not
/// thread-safe: `ForwardBuffer` calls it under its lock.
package final class ForwardSpill {
    private struct Segment {
        var number: UInt64
        var records: Int
        var bytes: Int
    }

    package let directory: String
    /// The directory, open (`openat`, `unlinkat`).
    private let directoryFD: Int32
    package let maximumBytes: Int
    private static let segmentBytes = 1 << 20
    /// The segment numbers taken for this directory's own (the first is 10^12 + 1).
    private static let numbers: ClosedRange<UInt64> = 1 << 20...1 << 62
    /// A length past this in a segment means the file is not ours: the rest of it is dropped.
    private static let maximumMessage = 64 << 20
    private var segments: [Segment] = []
    private var writing: Int32 = -1
    package private(set) var records = 0
    package private(set) var bytes = 0
    /// Why the last segment could not be opened for now (`read` returned nil).
    private var transientErrno: Int32 = 0
    /// Why the last disk operation failed, if one did.
    package private(set) var lastProblem: String?

    /// Why a spill directory of `info` is not the collector's alone, or nil: the one home of the
    /// rule, for the start and for check-config (`DaemonConfiguration.validateEnvironment`).
    package static func ownershipProblem(_ info: stat) -> String? {
        if info.st_uid != geteuid() { return "belongs to uid \(info.st_uid), not to this user (uid \(geteuid()))" }
        if info.st_mode & 0o022 != 0 {
            return "may be written by others (mode \(String(info.st_mode & 0o7777, radix: 8)))"
        }
        return nil
    }

    /// Opens (creating) the directory and takes the segments a previous run left there.
    package init(directory: String, maximumBytes: Int) throws(SystemError) {
        self.directory = directory
        self.maximumBytes = max(Self.segmentBytes, maximumBytes)
        let fd = try FileDescriptorIO.openDirectory(directory, creating: 0o700)
        var info = stat()
        do throws(SystemError) {
            try syscall("fstat \(directory)") { fstat(fd, &info) }
            if let problem = Self.ownershipProblem(info) {
                throw SystemError(call: "\(directory) \(problem)", errno: EPERM)
            }
        } catch {
            close(fd)
            throw error
        }
        self.directoryFD = fd
        // A listing of its own (closedir closes the descriptor it is given).
        let copy = dup(fd)
        guard copy >= 0, let listing = fdopendir(copy) else {
            let code = errno
            if copy >= 0 { close(copy) }
            throw SystemError(call: "opendir \(directory)", errno: code)
        }
        defer { closedir(listing) }
        var numbers: [UInt64] = []
        while let entry = readdir(listing) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            // Numbers start at 10^12 and move by one a segment: one far outside that range is
            // not a segment of ours (and 2^64 - 1 made the next number trap), left where it is.
            if name.hasSuffix(".spill"), let number = UInt64(name.dropLast(6)), Self.numbers.contains(number) {
                numbers.append(number)
            }
        }
        for number in numbers.sorted() {
            // Out of descriptors or memory at the start: no start, rather than records deleted.
            guard let messages = read(number, unlinking: false) else {
                throw SystemError(call: "open \(path(number))", errno: transientErrno)
            }
            guard !messages.isEmpty else {
                // Nothing readable (empty after a crash, or not ours): removed, or the number
                // would be taken again for a new segment, which O_EXCL then refuses for good.
                unlinkat(directoryFD, name(number), 0)
                continue
            }
            segments.append(
                Segment(number: number, records: messages.count, bytes: messages.reduce(0) { $0 + $1.count + 4 }))
        }
        records = segments.reduce(0) { $0 + $1.records }
        bytes = segments.reduce(0) { $0 + $1.bytes }
    }

    package var isEmpty: Bool { records == 0 }

    deinit { close(directoryFD) }

    private func name(_ number: UInt64) -> String { "\(number).spill" }
    private func path(_ number: UInt64) -> String { "\(directory)/\(name(number))" }

    /// Appends the message to the newest segment; returns how many records it dropped to stay
    /// within `maximumBytes` (the oldest segment's), or 1 if the disk refused this one.
    package func append(_ message: some Collection<UInt8>) -> Int {
        var dropped = 0
        do throws(SystemError) {
            if writing < 0 || segments.last.map({ $0.bytes >= Self.segmentBytes }) ?? true {
                finishWriting()
                let number = (segments.last?.number ?? 1_000_000_000_000) + 1
                writing = try syscall("open \(path(number))") {
                    openat(
                        directoryFD, name(number), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
                        0o600)
                }
                segments.append(Segment(number: number, records: 0, bytes: 0))
            }
            var frame: [UInt8] = withUnsafeBytes(of: UInt32(message.count).littleEndian) { Array($0) }
            frame.append(contentsOf: message)
            try writeAll(writing, frame)
            segments[segments.count - 1].records += 1
            segments[segments.count - 1].bytes += frame.count
            records += 1
            bytes += frame.count
        } catch {
            // A short write (disk full) left part of a frame: cut the segment back to its whole
            // frames, or (that failing too) end it, so that nothing appended later is read as
            // the rest of the broken one and lost with it.
            if writing >= 0, let recorded = segments.last?.bytes, ftruncate(writing, off_t(recorded)) != 0 {
                finishWriting()
            }
            lastProblem = "\(error)"
            return 1
        }
        while bytes > maximumBytes, segments.count > 1 {
            dropped += dropOldest()
        }
        return dropped
    }

    /// Takes the oldest segment's messages out of the spill (its file removed), with how many
    /// of the records it held could not be read back (a file no longer ours, cut short): the
    /// caller counts them as dropped. Nil, the segment left in place, when it cannot be opened
    /// now (out of descriptors or memory): a later turn takes it. Before, such a segment was
    /// removed, its records neither sent nor counted.
    package func takeOldest() -> (messages: [[UInt8]], lost: Int)? {
        guard let oldest = segments.first else { return ([], 0) }
        if segments.count == 1 { finishWriting() }
        guard let messages = read(oldest.number, unlinking: true) else { return nil }
        segments.removeFirst()
        records -= oldest.records
        bytes -= oldest.bytes
        return (messages, max(0, oldest.records - messages.count))
    }

    /// At close: what memory still held goes before everything spilled, and it all is synced,
    /// in segments of about `segmentBytes` like the others: one segment of everything memory
    /// held (up to the whole forward buffer) was past what a segment may be when read back,
    /// and the next start deleted it as not ours, every record in it lost.
    package func prepend(_ messages: [[UInt8]]) {
        finishWriting()
        var groups: [ArraySlice<[UInt8]>] = []
        var start = 0
        var size = 0
        for (index, message) in messages.enumerated() {
            size += message.count + 4
            if size >= Self.segmentBytes || index == messages.count - 1 {
                groups.append(messages[start...index])
                start = index + 1
                size = 0
            }
        }
        for group in groups.reversed() { prependSegment(group) }
    }

    private func prependSegment(_ messages: ArraySlice<[UInt8]>) {
        guard !messages.isEmpty else { return }
        let number = (segments.first?.number ?? 1_000_000_000_001) - 1
        guard Self.numbers.contains(number) else {
            lastProblem = "no segment number left below \(number + 1); \(messages.count) records not kept"
            return
        }
        do throws(SystemError) {
            let fd = try syscall("open \(path(number))") {
                openat(directoryFD, name(number), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            }
            defer { close(fd) }  // synced just before; a close error leaves nothing more to do
            var all: [UInt8] = []
            for message in messages {
                withUnsafeBytes(of: UInt32(message.count).littleEndian) { all.append(contentsOf: $0) }
                all.append(contentsOf: message)
            }
            try writeAll(fd, all)
            try syscall("fdatasync") { fdatasync(fd) }
            segments.insert(Segment(number: number, records: messages.count, bytes: all.count), at: 0)
            records += messages.count
            bytes += all.count
        } catch {
            lastProblem = "\(error)"
        }
    }

    private func dropOldest() -> Int {
        let oldest = segments.removeFirst()
        records -= oldest.records
        bytes -= oldest.bytes
        // gone either way for the counts; a failure leaves a file read again at the next start
        unlinkat(directoryFD, name(oldest.number), 0)
        return oldest.records
    }

    /// Syncs and closes the segment being written.
    package func finishWriting() {
        guard writing >= 0 else { return }
        // A failed sync of a spill file costs only crash safety, which it does not promise.
        _ = fdatasync(writing)
        close(writing)
        writing = -1
    }

    /// A segment's messages: only from a regular file of this user's, up to the first bad
    /// length. Nil (the file kept) when it cannot be opened for want of descriptors or memory.
    private func read(_ number: UInt64, unlinking: Bool) -> [[UInt8]]? {
        let file = name(number)
        let name = path(number)
        let fd: Int32
        do {
            fd = try syscall("open \(name)") {
                openat(directoryFD, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            }
        } catch  where [EMFILE, ENFILE, ENOMEM].contains(error.errno) {
            problem("\(error); left for later")
            transientErrno = error.errno
            return nil
        } catch {
            problem("\(name): \(error.errno == ELOOP ? "a symbolic link" : "\(error)"); its records are lost")
            if unlinking { unlinkat(directoryFD, file, 0) }
            return []
        }
        // Read or not, its records are accounted for now (what was not read: counted lost).
        defer { if unlinking { unlinkat(directoryFD, file, 0) } }
        defer { close(fd) }  // read-only
        var info = stat()
        guard fstat(fd, &info) == 0, FileDescriptorIO.logFileProblem(info) == nil,
            info.st_size < Int64(Self.maximumMessage) * 2
        else {
            problem("\(name): not a regular file of this user's; ignored")
            return []
        }
        var data = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < data.count {
            let n = data.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            filled += n
        }
        var messages: [[UInt8]] = []
        var offset = 0
        while offset + 4 <= filled {
            let length = Int(
                UInt32(data[offset]) | UInt32(data[offset + 1]) << 8 | UInt32(data[offset + 2]) << 16 | UInt32(
                    data[offset + 3]) << 24)
            guard length <= Self.maximumMessage, offset + 4 + length <= filled else { break }
            messages.append(Array(data[(offset + 4)..<(offset + 4 + length)]))
            offset += 4 + length
        }
        if offset < filled {
            problem(
                "\(name): \(filled - offset) bytes after record \(messages.count) are not a whole record (truncated or not ours); skipped"
            )
        }
        return messages
    }

    /// Says a problem on stderr, each as it comes (one kept for `status`: `lastProblem`).
    private func problem(_ text: String) {
        lastProblem = text
        StandardError.write("journal-bridge: forward spill: \(text)\n")
    }
}
