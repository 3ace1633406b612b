import Foundation
import JournalBridge
import JournalBridgeTestSupport
import XCTest

/// The one write-all loop: everything arrives across short writes, and a peer that went away is
/// an error (EPIPE), never a SIGPIPE that kills the process.
final class WriteAllTests: XCTestCase {
    func testEveryByteArrivesThroughAPipeThatTakesLessAtATime() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }  // 16 times a pipe's buffer
        let received = ConditionLock<[UInt8]>([])
        let readEnd = fds[0]
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(readEnd, &buffer, buffer.count)
                if n <= 0 { break }
                received.withLock { $0 += buffer[0..<n] }
            }
        }
        reader.start()
        try writeAll(fds[1], bytes)
        close(fds[1])
        XCTAssertTrue(eventually { received.withLock { $0.count } == bytes.count })
        XCTAssertTrue(received.withLock { $0 } == bytes)
    }

    func testASocketWhosePeerIsGoneIsEPIPENotASignal() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        close(fds[1])
        defer { close(fds[0]) }
        XCTAssertThrowsError(try writeAll(fds[0], [1, 2, 3], socket: true)) {
            XCTAssertEqual(($0 as? SystemError)?.errno, EPIPE)
        }
    }
}
