import Foundation
import JournalBridge
import JournalBridgeProcess
#if canImport(Glibc)
import Glibc
#endif

/// A long-running child (the daemon, systemd-socket-activate) started with posix_spawn
/// and reaped with waitpid here. Foundation's Process is not used for these: its
/// reaper thread blocks in wait4 on a running child and then cannot reap others.
public final class BackgroundProcess: @unchecked Sendable {
    public let pid: pid_t
    private let lock = NSLock()
    private var stderrBytes: [UInt8] = []
    private var status: Int32?

    /// `stdin`: a file to read standard input from (else /dev/null). `listeningSocket`: a descriptor
    /// passed as fd 3, the way systemd passes an activated socket.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
        listeningSocket: Int32? = nil
    ) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Run.Failure(description: "pipe: errno \(errno)") }
        var actions: [ChildProcess.FileAction] = [
            .open(fd: 0, path: stdin ?? "/dev/null", flags: O_RDONLY), .open(fd: 1, path: "/dev/null", flags: O_WRONLY),
            .duplicate(fds[1], as: 2), .close(fds[0]), .close(fds[1]),
        ]
        if let listeningSocket { actions.append(.duplicate(listeningSocket, as: 3)) }
        let child: pid_t
        do {
            child = try ChildProcess.spawn(executable, arguments, environment: environment, fileActions: actions)
        } catch {
            close(fds[0])
            close(fds[1])
            throw Run.Failure(description: "\(error)")
        }
        close(fds[1])
        pid = child
        let readEnd = fds[0]
        Thread { [weak self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(readEnd, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                guard n > 0, let self else { break }
                self.lock.lock()
                self.stderrBytes.append(contentsOf: buffer[0..<n])
                self.lock.unlock()
            }
            close(readEnd)
        }.start()
    }

    public var stderrText: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: stderrBytes, as: UTF8.self)
    }

    public var isRunning: Bool { reap(block: false) == nil }

    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits for exit (up to `timeout` s, then SIGKILL); the exit status (128+N for signal N).
    @discardableResult
    public func wait(timeout: TimeInterval = 30) -> Int32 {
        if !eventually(timeout: timeout, { !self.isRunning }) { signal(SIGKILL) }
        let result = reap(block: true) ?? -1
        Thread.sleep(forTimeInterval: 0.05)
        return result
    }

    private func reap(block: Bool) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        let done = waitpid(pid, &raw, block ? 0 : WNOHANG)
        guard done == pid else { return nil }
        let exited = raw & 0x7F == 0
        status = exited ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
        return status
    }

    deinit {
        if reap(block: false) == nil {
            kill(pid, SIGKILL)
            _ = reap(block: true)
        }
    }
}
