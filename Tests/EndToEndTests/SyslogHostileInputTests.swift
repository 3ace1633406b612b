import Foundation
import JournalBridge
import JournalBridgeTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A client of a few lines of Python (the two test groups below): no syslog client sends what
/// they send on purpose.
private func python(_ script: String, _ arguments: [String]) throws -> BackgroundProcess {
    try BackgroundProcess("/usr/bin/env", ["python3", "-c", script] + arguments)
}

/// Syslog clients that lie in their framing or flood with what costs the collector most per
/// byte: each is cut or refused where it lies, counted, and the collector's memory stays
/// within its limit. The clients are Python sockets: no syslog client sends these on purpose.
final class SyslogHostileInputTests: XCTestCase {
    private typealias SyslogDaemon = SyslogInputTests.SyslogDaemon

    /// Runs `script` (arguments: the daemon's TCP port, `tag`, and a file it waits for before
    /// closing its connections) and says whether `count` debug lines `containing` a word were
    /// stored while it held them open; then lets it close and checks that it exited 0.
    private func stored(
        _ count: Int, containing word: String, while script: String, holds daemon: SyslogDaemon, tag: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> Bool {
        let looked = daemon.directory.file("looked")
        let client = try python(script, [daemon.port("syslog-tcp"), tag, looked])
        let stored = eventually(timeout: 15) { daemon.debugLines.filter { $0.contains(word) }.count == count }
        XCTAssertTrue(FileManager.default.createFile(atPath: looked, contents: nil), file: file, line: line)
        XCTAssertEqual(client.wait(), 0, client.stderrText, file: file, line: line)
        return stored
    }

    /// Taken at its word, `9999999999 ` made every later message of the connection one frame,
    /// stored only at its close, with no count and no reason. It is no count (rsyslog's answer):
    /// the messages after it are stored as they come, the line itself as malformed.
    func testAnAbsurdOctetCountIsNoCountAndTheNextMessagesAreStoredAsTheyCome() throws {
        let daemon = try SyslogDaemon(journald: false)
        let tag = Journal.uniqueIdentifier("sl-count")
        let script = """
            import os, socket, sys, time
            port, tag, looked = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"9999999999 <13>first\\n")
            s.sendall(b"".join(("<13>%s: legit %d\\n" % (tag, i)).encode() for i in range(1000)))
            end = time.time() + 30
            while not os.path.exists(looked) and time.time() < end:  # held open until the test has looked
                time.sleep(0.05)
            s.close()
            """
        let storedWhileOpen = try stored(1000, containing: "legit", while: script, holds: daemon, tag: tag)
        XCTAssertTrue(storedWhileOpen, "stored while the connection is open: \(daemon.debugLines.suffix(3))")
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        let lines = daemon.debugLines
        XCTAssertEqual(lines.filter { $0.contains("legit") }.count, 1000, "each its own record")
        XCTAssertEqual(lines.filter { $0.contains("9999999999 <13>first") }.count, 1, "the line stored as sent")
        XCTAssertTrue(
            daemon.process.stderrText.contains(
                "1001 messages, 1 malformed, 0 cut (0 bytes), 0 dropped by the kernel, 1 framing fallbacks"),
            daemon.process.stderrText)
    }

    /// A message without APP-NAME or tag is stored under the input's identifier, never under
    /// the collector's own: libsystemd filled the missing SYSLOG_IDENTIFIER with its program's
    /// name, so any sender wrote under `journalctl -t journal-bridge`, and with 600 SD
    /// parameters its 3 extra iovecs made the kernel refuse the entry, lost to journald.
    func testAMessageWithoutATagIsNeverTheCollectorsOwnAndIsStored() throws {
        let daemon = try SyslogDaemon()
        let tag = Journal.uniqueIdentifier("sl-notag")
        let script = """
            import socket, sys
            path, tag = sys.argv[1], sys.argv[2]
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.sendto(("<13>1 - - - - - - %s plain" % tag).encode(), path)
            params = " ".join('p%d="v"' % i for i in range(600))
            s.sendto(("<13>1 - - - - - [x@1 %s] %s many" % (params, tag)).encode(), path)
            """
        let client = try python(script, [daemon.datagram, tag])
        XCTAssertEqual(client.wait(), 0, client.stderrText)
        let entries = try Journal.entries(["MESSAGE=\(tag) plain", "+", "MESSAGE=\(tag) many"], atLeast: 2)
        XCTAssertEqual(entries.count, 2, daemon.process.stderrText)
        for entry in entries {
            XCTAssertNotEqual(entry["SYSLOG_IDENTIFIER"], "journal-bridge")
            XCTAssertEqual(entry["SYSLOG_IDENTIFIER"], "unknown", "the input's identifier, as in the files")
        }
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        XCTAssertFalse(daemon.process.stderrText.contains("Invalid argument"), daemon.process.stderrText)
    }

    /// Idle syslog connections cannot take the bridge's memory nor keep new clients out: each
    /// held 64 KiB of the frame budget's large part from accept to close, so 150 idle TCP
    /// connections (memory_limit 16M) left a worker's 600 KB record unacknowledged for as long
    /// as they stayed, and every new syslog client refused. Now syslog streams hold at most a
    /// quarter of that part, and idle connections are closed (counted) while room is needed.
    func testIdleConnectionsDoNotHoldTheMemoryOthersNeed() throws {
        let daemon = try SyslogDaemon(["--memory-limit", "16M"], journald: false)
        let tag = Journal.uniqueIdentifier("sl-idle")
        let script = """
            import socket, sys, time
            port, tag = int(sys.argv[1]), sys.argv[2]
            held = [socket.create_connection(("127.0.0.1", port)) for _ in range(150)]
            print("ready", flush=True)
            time.sleep(15)  # idle past the limit; the collector closes them while room is needed
            late = socket.create_connection(("127.0.0.1", port))
            late.sendall(("<13>%s: a late client\\n" % tag).encode()); late.close()
            time.sleep(10)
            """
        let idle = try python(script, [daemon.port("syslog-tcp"), tag])
        defer {
            idle.signal(SIGKILL)
            idle.wait()
        }
        XCTAssertTrue(eventually { String(decoding: idle.stdout, as: UTF8.self).contains("ready") }, idle.stderrText)
        Thread.sleep(forTimeInterval: 3)  // every one accepted (or refused) by now
        let line = Array((tag + " big " + String(repeating: "x", count: 600_000) + "\n").utf8)
        let send = try Run.journalBridge(
            ["send", "--socket", daemon.directory.file("bridge.sock"), "--timeout", "10", "-"], stdin: line)
        XCTAssertEqual(send.status, 0, "a worker's 600 KB record acknowledged beside them: \(send.stderrText)")
        XCTAssertTrue(
            eventually(timeout: 25) {
                daemon.debugLines.contains { $0.contains("\(tag): a late client") || $0.hasSuffix("a late client") }
            },
            "a new client after the idle ones were closed: \(daemon.process.stderrText.suffix(400))")
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        XCTAssertTrue(daemon.process.stderrText.contains("idle connections closed for room"), daemon.process.stderrText)
    }

    /// One client's lying framing is its own: while one connection holds an octet-counted frame
    /// that never completes (150,000 bytes promised, a few sent) and another an absurd count,
    /// a third client's octet-counted frames are stored as they come, each its own record.
    func testALyingClientsFramingDoesNotTouchAnothersMessages() throws {
        let daemon = try SyslogDaemon(journald: false)
        let tag = Journal.uniqueIdentifier("sl-apart")
        let script = """
            import os, socket, sys, time
            port, tag, looked = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            liar = socket.create_connection(("127.0.0.1", port))
            liar.sendall(b"150000 <13>liar: waits for bytes that never come")
            absurd = socket.create_connection(("127.0.0.1", port))
            absurd.sendall(b"9999999999 <13>absurd")
            honest = socket.create_connection(("127.0.0.1", port))
            for i in range(200):
                frame = ("<13>%s: honest %d" % (tag, i)).encode()
                honest.sendall(b"%d %s" % (len(frame), frame))
            end = time.time() + 30
            while not os.path.exists(looked) and time.time() < end:
                time.sleep(0.05)
            for s in (liar, absurd, honest):
                s.close()
            """
        let storedMeanwhile = try stored(200, containing: "honest", while: script, holds: daemon, tag: tag)
        XCTAssertTrue(
            storedMeanwhile, "the honest client's frames, while the others hold: \(daemon.debugLines.suffix(3))")
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        let lines = daemon.debugLines
        XCTAssertEqual(lines.filter { $0.contains("honest") }.count, 200, "each its own record")
        XCTAssertFalse(lines.contains { $0.contains("honest") && ($0.contains("liar") || $0.contains("absurd")) })
        let prefix = Array("<13>liar: waits for bytes that never come".utf8).count
        XCTAssertEqual(
            lines.filter { $0.hasSuffix("waits for bytes that never come…[\(150_000 - prefix) bytes never sent]") }
                .count,
            1, "the liar's frame, at its close: \(lines.filter { $0.contains("liar") })")
        XCTAssertEqual(lines.filter { $0.contains("9999999999 <13>absurd") }.count, 1)
    }

    /// An octet-counted frame the client's close cuts short is stored with what came, marked
    /// with what never did, and counted as malformed (it was stored as if whole, uncounted).
    func testAFrameCutShortByTheCloseIsMarkedAndCounted() throws {
        let daemon = try SyslogDaemon(journald: false)
        let tag = Journal.uniqueIdentifier("sl-short")
        let frame = "<13>\(tag): the start"
        let script = """
            import socket, sys
            port, frame = int(sys.argv[1]), sys.argv[2]
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"100 " + frame.encode())
            s.close()
            """
        let client = try python(script, [daemon.port("syslog-tcp"), frame])
        XCTAssertEqual(client.wait(), 0, client.stderrText)
        XCTAssertTrue(eventually { daemon.debugLines.contains { $0.contains(tag) } }, daemon.process.stderrText)
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        let line = daemon.debugLines.first { $0.contains(tag) } ?? ""
        XCTAssertTrue(line.hasSuffix("the start…[\(100 - frame.utf8.count) bytes never sent]"), line)
        XCTAssertTrue(daemon.process.stderrText.contains("1 messages, 1 malformed"), daemon.process.stderrText)
    }
}

/// The syslog inputs' own memory under floods, beside `MemoryBoundTests` (not run under
/// ThreadSanitizer, whose shadow memory is no measure of the collector's).
final class SyslogMemoryBoundTests: XCTestCase {
    private typealias SyslogDaemon = SyslogInputTests.SyslogDaemon

    /// What an input builds from one read is routed a batch at a time, so that it stays small
    /// beside the memory limit: 64 KiB of 3-byte frames were 21,845 records built before any was
    /// routed (a peak of 84 MB with `memory_limit` 16M, 8 clients); 256 datagrams of 64 KB,
    /// malformed and so held twice, were 33 MB.
    func testTheCheapestFloodsStayWithinTheMemoryLimit() throws {
        // Nothing reaches a sink (every level below critical): what is measured is the inputs'.
        let daemon = try SyslogDaemon(
            config:
                "memory_limit = \"16M\"\nerror_file_level = \"critical\"\ndebug_file_level = \"critical\"\n",
            journald: false)
        let script = """
            import socket, sys, time, os
            kind, target = sys.argv[1], sys.argv[2]
            end = time.time() + 1.5
            if kind == "tcp":
                s = socket.create_connection(("127.0.0.1", int(target)))
                chunk = b"<1\\n" * 21845
                while time.time() < end:
                    s.sendall(chunk)
            else:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                s.connect(target)
                big = b"x" * 65000  # no PRI: malformed, its bytes kept as MESSAGE and SYSLOG_RAW
                while time.time() < end:
                    s.send(big)
            s.close()
            """
        var clients: [BackgroundProcess] = []
        for _ in 0..<8 { clients.append(try python(script, ["tcp", daemon.port("syslog-tcp")])) }
        for _ in 0..<8 { clients.append(try python(script, ["unix", daemon.datagram])) }
        for client in clients { XCTAssertEqual(client.wait(), 0, client.stderrText) }
        let status = (try? String(contentsOfFile: "/proc/\(daemon.process.pid)/status", encoding: .utf8)) ?? ""
        let peakKiB = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") }
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        let peak = try XCTUnwrap(peakKiB, status)
        // The collector's own baseline here is 18 to 20 MB, the budget's 16M comes on top only
        // if records wait in sink queues (none here): 32 MiB leaves room for the runtime.
        XCTAssertLessThan(peak, 32 * 1024, "peak RSS \(peak) KiB")
        XCTAssertTrue(daemon.process.stderrText.contains("malformed"), daemon.process.stderrText)
    }
}
