#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// Resident memory of a process (this one unless told), from /proc/<pid>/status.
package enum ProcessMemory {
    /// Peak resident set size (VmHWM), bytes.
    package static var peakResidentBytes: Int { field("VmHWM:", of: "self") }

    /// Current resident set size (VmRSS) of `pid`, bytes; 0 if it cannot be read.
    package static func residentBytes(of pid: Int32) -> Int { field("VmRSS:", of: String(pid)) }

    /// Starts the peak over from the current size (writes 5 to /proc/self/clear_refs).
    package static func resetPeak() {
        let fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = write(fd, "5", 1)  // best effort: where it fails the peak is the old one, as the bench says
        close(fd)
    }

    private static func field(_ name: String, of process: String) -> Int {
        guard let bytes = try? readFile("/proc/\(process)/status", limit: 1 << 20) else { return 0 }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let kilobytes =
                line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
                ?? 0
            return kilobytes * 1024
        }
        return 0
    }
}
