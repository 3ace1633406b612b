import CJournalBridgeShims
import Foundation
import JournalBridge
#if canImport(Glibc)
import Glibc
#endif

/// A raw exchange with a collector from another process: a forked child (switched to
/// another uid and gid first when `user` is given, which needs root) connects, sends
/// `bytes`, half-closes, and reads until the collector closes. Returns what the
/// collector sent. Another pid, and with `user` another uid: what `SO_PEERCRED` sees.
///
/// Everything the child uses is prepared before `fork`: in the child of a multithreaded
/// process it calls only async-signal-safe functions, then `_exit`.
public enum ForkedClient {
    public static func exchange(path: String, bytes: [UInt8], user: (uid: uid_t, gid: gid_t)? = nil) throws -> [UInt8] {
        guard let cPath = strdup(path) else { throw Run.Failure(description: "strdup") }
        defer { free(cPath) }
        let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        defer { payload.deallocate() }
        payload.copyBytes(from: bytes)
        let count = bytes.count
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 1)
        defer { scratch.deallocate() }
        let timeout = UnsafeMutablePointer<timeval>.allocate(capacity: 1)
        defer { timeout.deallocate() }
        timeout.initialize(to: timeval(tv_sec: 10, tv_usec: 0))
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Run.Failure(description: "pipe: errno \(errno)") }
        let (readEnd, writeEnd) = (fds[0], fds[1])

        let child = fork()
        if child == 0 {
            close(readEnd)
            alarm(30)  // never outlive a wedged test
            if let user {
                guard setgroups(0, nil) == 0, setgid(user.gid) == 0, setuid(user.uid) == 0
                else { _exit(2) }
            }
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0, c_jb_connect_unix(fd, cPath) == 0 else { _exit(3) }
            // Without the timeout the alarm above still ends a wedged child.
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, socklen_t(MemoryLayout<timeval>.size))
            // Not `writeAll`: the child of a multithreaded process may call only async-signal-safe
            // functions, and Swift's error path allocates.
            var offset = 0
            while offset < count {
                let n = send(fd, payload.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { break }
                offset += n
            }
            shutdown(fd, Int32(SHUT_WR))
            while true {
                let n = recv(fd, scratch, 4096, 0)
                if n <= 0 { break }
                var written = 0
                while written < n {
                    let w = write(writeEnd, scratch + written, n - written)
                    if w <= 0 { _exit(4) }
                    written += w
                }
            }
            _exit(0)
        }
        close(writeEnd)
        guard child > 0 else {
            close(readEnd)
            throw Run.Failure(description: "fork: errno \(errno)")
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(readEnd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            received.append(contentsOf: buffer[0..<n])
        }
        close(readEnd)
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { throw Run.Failure(description: "the forked client ended with status \(status)") }
        return received
    }

    /// The frames in `bytes` (what `exchange` returned).
    package static func frames(_ bytes: [UInt8]) -> [Frame] {
        var decoder = FrameDecoder()
        decoder.append(bytes[...])
        var frames: [Frame] = []
        while let frame = try? decoder.nextFrame() { frames.append(frame) }
        return frames
    }
}
