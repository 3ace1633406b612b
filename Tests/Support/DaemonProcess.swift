import Foundation
import JournalBridge
import JournalBridgeProcess
#if canImport(Glibc)
import Glibc
#endif

/// A child process for the tests, started with posix_spawn and reaped with waitpid here: the
/// one process runner (`Run.command` is this, waited for). Its stdout and stderr are read into
/// memory as they come, so a chatty child never blocks on a full pipe. Foundation's Process is
/// not used: its reaper thread blocks in wait4 on a running child and then cannot reap others.
public final class BackgroundProcess: @unchecked Sendable {
    public let pid: pid_t
    private struct Output {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        /// Streams (stdout, stderr) that reached their end.
        var ended = 0
    }
    private let output = ConditionLock(Output())
    private let statusLock = NSLock()
    private var status: Int32?

    /// `stdin`: a file to read standard input from; `input`: bytes written to a pipe as standard
    /// input (else /dev/null). `listeningSocket`: a descriptor passed as fd 3, the way systemd
    /// passes an activated socket. `environment` is added to this process's.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
        input: [UInt8]? = nil, listeningSocket: Int32? = nil
    ) throws {
        var pipes: [Int32] = []
        func makePipe() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw Run.Failure(description: "pipe: errno \(errno)") }
            pipes += fds
            // Not inherited by other children spawned meanwhile (they would hold the pipe open).
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // a failure only delays the EOF
            return (fds[0], fds[1])
        }
        defer { for fd in pipes { close(fd) } }
        let out = try makePipe()
        let err = try makePipe()
        let inputPipe = try input.map { _ in try makePipe() }
        var actions: [ChildProcess.FileAction] = [.duplicate(out.write, as: 1), .duplicate(err.write, as: 2)]
        if let inputPipe {
            actions.append(.duplicate(inputPipe.read, as: 0))
        } else {
            actions.append(.open(fd: 0, path: stdin ?? "/dev/null", flags: O_RDONLY))
        }
        if let listeningSocket { actions.append(.duplicate(listeningSocket, as: 3)) }
        do {
            pid = try ChildProcess.spawn(executable, arguments, environment: environment, fileActions: actions)
        } catch {
            throw Run.Failure(description: "\(error)")
        }
        // The reading ends (and the input's writing end) go to their threads; the rest close here.
        pipes = [out.write, err.write] + (inputPipe.map { [$0.read] } ?? [])
        startReading(out.read, stdout: true)
        startReading(err.read, stdout: false)
        if let input, let inputPipe {
            let fd = inputPipe.write
            // A child that exits without reading all of it must not kill the test with SIGPIPE.
            Glibc.signal(SIGPIPE, SIG_IGN)
            Thread {
                try? writeAll(fd, input)  // a child that stopped reading: its status says the rest
                close(fd)
            }.start()
        }
    }

    /// Reads `fd` to its end on a thread of its own (which holds the output, not the process,
    /// so that releasing the process still kills a child left running).
    private func startReading(_ fd: Int32, stdout: Bool) {
        let output = self.output
        Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                output.withLock { output in
                    if stdout { output.stdout += buffer[0..<n] } else { output.stderr += buffer[0..<n] }
                }
            }
            close(fd)
            output.withLock { $0.ended += 1 }
            output.broadcast()
        }.start()
    }

    public var stdout: [UInt8] { output.withLock { $0.stdout } }
    public var stderr: [UInt8] { output.withLock { $0.stderr } }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    public var isRunning: Bool { reap(block: false) == nil }

    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits for exit (up to `timeout` s, then SIGKILL) and for the end of its output; the exit
    /// status (128+N for signal N).
    @discardableResult
    public func wait(timeout: TimeInterval = 30) -> Int32 {
        if !eventually(timeout: timeout, { !self.isRunning }) { signal(SIGKILL) }
        return finish()
    }

    /// Waits for exit, however long it takes, and for the end of its output (a few seconds at
    /// most: a grandchild may keep the pipes open); the exit status (128+N for signal N).
    @discardableResult
    public func finish() -> Int32 {
        let result = reap(block: true) ?? -1
        output.wait(until: { $0.ended == 2 }, deadline: MonotonicClock.deadline(after: 5)) { _, _ in }
        return result
    }

    private func reap(block: Bool) -> Int32? {
        statusLock.lock()
        defer { statusLock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        var done: pid_t
        repeat { done = waitpid(pid, &raw, block ? 0 : WNOHANG) } while done < 0 && errno == EINTR
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
