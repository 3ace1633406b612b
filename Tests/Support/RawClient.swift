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
        UnixSocket.setTimeout(fd, option: SO_RCVTIMEO, seconds: 10)
    }

    deinit { close(fd) }

    public func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { return }
            offset += n
        }
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
