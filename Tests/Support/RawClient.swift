import Foundation
import JournalBridge
#if canImport(Glibc)
import Glibc
#endif

/// A hand-driven client for protocol tests: sends whatever bytes it is told.
public final class RawClient {
    public let fd: Int32

    public init(path: String) throws {
        fd = try UnixSocket.connect(path: path)
        try UnixSocket.setTimeout(fd, option: SO_RCVTIMEO, seconds: 10)
    }

    deinit { close(fd) }

    public func send(_ bytes: [UInt8]) {
        // A collector that closed the connection is what some tests provoke: they read why.
        try? writeAll(fd, bytes, socket: true)
    }

    package func send(_ frame: Frame) {
        var encoder = FrameEncoder()
        encoder.encode(frame)
        send(encoder.bytes)
    }

    /// Half-closes the sending side (the peer sees EOF).
    public func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads until the collector closes the connection (or 10 s pass); the frames it sent.
    package func framesUntilClosed() -> (frames: [Frame], closed: Bool) {
        var decoder = FrameDecoder()
        var frames: [Frame] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return (frames, true) }
            if n < 0 { return (frames, false) }
            decoder.append(buffer[0..<n])
            while let frame = try? decoder.nextFrame() { frames.append(frame) }
        }
    }

    /// Waits for one frame (welcome, ack...).
    package func nextFrame() -> Frame? {
        var decoder = FrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 1)
        while true {
            if let frame = try? decoder.nextFrame() { return frame }
            let n = recv(fd, &buffer, 1, 0)
            if n <= 0 { return nil }
            decoder.append(buffer[0..<n])
        }
    }
}

/// Waits until `condition` holds (polling), up to `timeout` seconds.
@discardableResult
public func eventually(timeout: TimeInterval = 20, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline { return false }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return true
}
