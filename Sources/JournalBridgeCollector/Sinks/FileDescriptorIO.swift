#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// File-system helpers the file sinks share.
enum FileDescriptorIO {
    /// Writes all of `bytes`, resuming after short writes.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = try syscall("write") { Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
            offset += n
        }
    }

    /// Writes all of `bytes`. (Typed throws cannot cross `withUnsafeBytes` without crashing swiftc 6.3.)
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        let failure: SystemError? = bytes.withUnsafeBytes { raw in
            do throws(SystemError) {
                try writeAll(fd, raw)
                return nil
            } catch { return error }
        }
        if let failure { throw failure }
    }

    /// `mkdir -p` of the directory holding `path`.
    static func createParentDirectory(of path: String, mode: mode_t = 0o755) throws(SystemError) {
        var components = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        guard !components.isEmpty else { return }
        var current = path.hasPrefix("/") ? "" : "."
        if components.first == "" { components = components.dropFirst() }
        for component in components where !component.isEmpty {
            current += "/" + component
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw SystemError(call: "mkdir \(current)", errno: errno)
            }
        }
    }

    /// Opens for appending, creating the file (and its directory) if missing.
    static func openForAppend(_ path: String, mode: mode_t) throws(SystemError) -> (fd: Int32, size: Int) {
        try createParentDirectory(of: path)
        let fd = try syscall("open \(path)") { open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode) }
        var info = stat()
        if fstat(fd, &info) != 0 {
            let error = SystemError(call: "fstat \(path)", errno: errno)
            Glibc.close(fd)
            throw error
        }
        return (fd, Int(info.st_size))
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}

/// Says a failure once on stderr, counts what it cost, and says when it is over,
/// so that a full disk or a missing journald never produces a line per record.
/// A failure that returns within a second belongs to the same episode: a nearly full
/// disk that takes one small write and refuses the next is not "recovered".
struct FailureReport {
    let sink: String
    private(set) var failing = false
    private(set) var lostSinceReport = 0
    private var lastFailure: UInt64 = 0

    init(sink: String) { self.sink = sink }

    mutating func failed(_ reason: String, records: Int) {
        lostSinceReport += records
        lastFailure = MonotonicClock.now()
        if !failing {
            failing = true
            StandardError.write("journal-bridge: \(sink): \(reason); records are counted until it recovers\n")
        }
    }

    mutating func recovered() {
        guard failing, MonotonicClock.now() - lastFailure >= 1_000_000_000 else { return }
        failing = false
        StandardError.write("journal-bridge: \(sink): recovered; \(lostSinceReport) records could not be written\n")
        lostSinceReport = 0
    }

    /// At close: what the current episode cost, if it was not said yet.
    mutating func finish() {
        guard lostSinceReport > 0 else { return }
        StandardError.write("journal-bridge: \(sink): \(lostSinceReport) records could not be written\n")
        lostSinceReport = 0
        failing = false
    }
}
