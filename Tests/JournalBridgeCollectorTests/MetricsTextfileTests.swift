import Foundation
@testable import JournalBridgeDaemon
import JournalBridgeTestSupport
import Synchronization
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `metrics_textfile`: written through a temporary file that is always a new one of the
/// collector's. Whatever another user left at the temporary name is not written through:
/// a FIFO hung the daemon's signal thread in `open`, a hard link had its target overwritten.
final class MetricsTextfileTests: XCTestCase {
    /// Runs `writeAtomically` off this thread, so that a regression fails the test, not hangs it.
    private func write(_ text: String, to path: String) -> Bool {
        let done = Atomic<Bool>(false)
        let thread = Thread {
            DaemonOperations.writeAtomically(text, to: path)
            done.store(true, ordering: .releasing)
        }
        thread.start()
        return eventually(timeout: 5) { done.load(ordering: .acquiring) }
    }

    func testAFIFOAtTheTemporaryNameIsReplacedNotOpened() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("jb.prom")
        XCTAssertEqual(mkfifo(path + ".tmp", 0o666), 0)
        let returned = write("metric 1\n", to: path)
        if !returned {
            // Let the stuck open go, so that the process can end.
            let reader = open(path + ".tmp", O_RDONLY | O_NONBLOCK)
            if reader >= 0 { close(reader) }
        }
        XCTAssertTrue(returned, "writeAtomically hung on the FIFO")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "metric 1\n")
    }

    func testAHardLinkAtTheTemporaryNameLeavesItsTargetAlone() throws {
        let directory = try TemporaryDirectory()
        let victim = directory.file("precious")
        try "precious root data\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let path = directory.file("jb.prom")
        XCTAssertEqual(link(victim, path + ".tmp"), 0)
        XCTAssertTrue(write("metric 2\n", to: path))
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "precious root data\n")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "metric 2\n")
        var info = stat()
        XCTAssertEqual(stat(victim, &info), 0)
        XCTAssertEqual(info.st_nlink, 1, "the link was removed, not written through")
    }
}
