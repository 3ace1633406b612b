import Foundation
import JournalBridge
import JournalBridgeTestSupport
import Logging
import Synchronization
import XCTest

/// A collector that accepts and closes at once (at its connection limit, say): the shipper
/// retries with backoff and keeps its records, and no attempt leaves a descriptor behind.
final class ShipperReconnectTests: XCTestCase {
    private func openDescriptors() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
    }

    func testConnectionsRefusedAfterAcceptLeaveNoDescriptorBehind() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("closing.sock")
        let listener = try UnixSocket.listen(path: path)
        defer { close(listener) }
        let accepted = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let acceptor = Thread {
            while !stop.load(ordering: .relaxed) {
                var probe = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
                guard poll(&probe, 1, 50) > 0 else { continue }
                let fd = accept(listener, nil, nil)
                if fd >= 0 {
                    close(fd)
                    accepted.add(1, ordering: .relaxed)
                }
            }
        }
        acceptor.start()
        defer { stop.store(true, ordering: .relaxed) }

        let before = openDescriptors()
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(
                socketPath: path, identifier: "refused", flushAtExit: nil, reconnectDelay: (0.001, 0.002))
        )
        shipper.enqueue(LogRecord(level: .error, message: "kept"))
        XCTAssertTrue(eventually { accepted.load(ordering: .relaxed) >= 200 }, "the shipper keeps retrying")
        XCTAssertLessThan(openDescriptors() - before, 10, "each refused attempt closed its socket")
        XCTAssertEqual(shipper.statistics.held, 1, "the record is kept for the next collector")
        shipper.shutdown(timeout: 0)
    }

    /// A collector that stopped accepting (SIGSTOP, hung) with its backlog full: a blocking
    /// connect waited for ever, and `shutdown()`, which joins the shipper's thread, with it.
    func testACollectorWithAFullBacklogDoesNotHoldShutdown() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("stuck.sock")
        let listener = try UnixSocket.listen(path: path, backlog: 0)  // never accepts
        defer { close(listener) }
        let first = try UnixSocket.connect(path: path)  // the one connection the backlog holds
        defer { close(first) }
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(socketPath: path, identifier: "stuck", flushAtExit: nil))
        shipper.enqueue(LogRecord(level: .error, message: "waits"))
        usleep(300_000)  // the shipper's thread is in connect by now
        let done = Atomic<Bool>(false)
        let stopper = Thread {
            shipper.shutdown(timeout: 0)
            done.store(true, ordering: .releasing)
        }
        stopper.start()
        XCTAssertTrue(
            eventually(timeout: 15) { done.load(ordering: .acquiring) },
            "shutdown() returns once the connect gives up (5 s), not never")
    }
}
