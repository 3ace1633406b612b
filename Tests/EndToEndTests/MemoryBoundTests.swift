import Foundation
import JournalBridge
import JournalBridgeBenchmarks
import JournalBridgeCollector
import JournalBridgeTestSupport
import XCTest

/// docs/reliability.md, "Hostile clients": the collector's memory is bounded for all
/// clients together, not per connection.
final class MemoryBoundTests: XCTestCase {
    /// 400 connections each declare an 8 MiB frame, send 3 MiB of it and stall. Without
    /// a global budget the daemon buffered every one of them (3.3 GB in the issue).
    func testStalledLargeFramesStayWithinTheBudgetAGoodClientIsServedAndTheStalledAreClosed() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("m.sock")
        let budget = 64 << 20
        // Honest overhead: the daemon's own RSS (~25 MiB at rest), the read buffer, the
        // allocator's slack around freed frame buffers, and the welcome frames.
        let overhead = 64 << 20
        let daemon = try BackgroundProcess(
            Run.journalBridge,
            [
                "collect", "--socket", socket, "--base", directory.file("m"), "--no-journald", "--max-bytes", "0",
                "--memory-limit", "64M",
            ]
        )
        defer {
            daemon.signal(SIGTERM)
            daemon.wait()
        }
        XCTAssertTrue(eventually { daemon.stderrText.contains("collecting on") }, daemon.stderrText)
        let atRest = ProcessMemory.residentBytes(of: daemon.pid)

        // The header of a frame of the largest size allowed, then 3 MiB of its body.
        let length = UInt32(WireProtocol.maxFrameBytes)
        let header: [UInt8] = [
            UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF),
        ]
        let body = [UInt8](repeating: 0x41, count: 3 << 20)
        var stalled: [RawClient] = []
        for index in 0..<400 {
            let client = try RawClient(path: socket)
            client.send(.hello(Hello(session: UInt64(index + 1), identifier: "stalled")))
            client.send(header)
            stalled.append(client)
        }
        var sent = [Int](repeating: 0, count: stalled.count)
        var peak = 0
        let pushUntil = Date().addingTimeInterval(10)
        while Date() < pushUntil {
            var moved = false
            for (index, client) in stalled.enumerated() where sent[index] < body.count {
                let n = body.withUnsafeBytes {
                    Glibc.send(
                        client.fd, $0.baseAddress! + sent[index], $0.count - sent[index],
                        Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                }
                if n > 0 {
                    sent[index] += n
                    moved = true
                }
            }
            peak = max(peak, ProcessMemory.residentBytes(of: daemon.pid))
            if !moved { Thread.sleep(forTimeInterval: 0.05) }
        }
        XCTAssertLessThan(peak, budget + overhead, "daemon RSS \(peak >> 20) MiB while 400 connections stalled")

        // A well-behaved client beside them is welcomed, stored and acknowledged.
        let good = try RawClient(path: socket)
        good.send(.hello(Hello(session: 999_999, identifier: "good")))
        guard case .welcome? = good.nextFrame() else {
            return XCTFail("the good client was not welcomed: \(daemon.stderrText)")
        }
        good.send(
            .batch(
                (1...5).map {
                    LogRecord(level: .error, message: "good record \($0)", sequence: UInt64($0), origin: .unattributed)
                }))
        guard case .ack(5)? = good.nextFrame() else {
            return XCTFail("the good client's records were not acknowledged")
        }

        // The stalled connections are closed with a reason, a few at a time, as each
        // group holding the budget stops making progress; memory stays bounded meanwhile.
        var closed: [String] = []
        XCTAssertTrue(
            eventually(timeout: 60) {
                peak = max(peak, ProcessMemory.residentBytes(of: daemon.pid))
                closed = directory.lines("m_error.log").filter { $0.contains("made no progress") }
                return closed.count >= 6
            }, "stalled connections closed: \(closed.count)")
        XCTAssertTrue(closed.allSatisfy { $0.contains("unfinished frame") }, "\(closed.prefix(3))")
        XCTAssertLessThan(peak, budget + overhead, "daemon RSS \(peak >> 20) MiB")
        XCTAssertTrue(directory.lines("m_debug.log").contains { $0.hasSuffix("good record 5") })
        XCTAssertTrue(daemon.isRunning, daemon.stderrText)
        // Stopping with hundreds of connections still waiting for memory drains and exits 0.
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.wait(), 0, daemon.stderrText)
        print(
            "RELIABILITY scenario=memory-budget budget=64MiB connections=400 declared=8MiB sent_each=3MiB "
                + "rss_at_rest=\(atRest >> 20)MiB rss_peak=\(peak >> 20)MiB closed_stalled=\(closed.count) good_client=acknowledged"
        )
    }

    /// One user cannot take the frame share from the others: 300 connections of uid 65534
    /// each declare a 128 KiB frame and trickle a byte every second (37.5 MiB declared, past
    /// the 32 MiB share of a 64M budget). They held all of it; another user's batch waited
    /// until they were closed, about 30 s, again and again. Now a uid holds at most a quarter
    /// of the share (here 8 MiB, one largest frame), its own connections wait, and the
    /// other user's batches are acknowledged as they come.
    func testOneUsersStalledFramesDoNotHoldTheBudgetFromAnother() throws {
        let directory = try TemporaryDirectory()
        XCTAssertEqual(chmod(directory.path, 0o755), 0)
        let socket = directory.file("u.sock")
        let daemon = try BackgroundProcess(
            Run.journalBridge,
            [
                "collect", "--socket", socket, "--socket-mode", "0666", "--base", directory.file("u"), "--no-journald",
                "--max-bytes", "0", "--memory-limit", "64M",
            ]
        )
        defer {
            daemon.signal(SIGTERM)
            daemon.wait()
        }
        XCTAssertTrue(eventually { daemon.stderrText.contains("collecting on") }, daemon.stderrText)
        let script = """
            import socket, struct, sys, time
            def frame(body): return struct.pack(">I", len(body)) + body
            held = []
            for i in range(300):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(\(String(reflecting: socket)))
                ident = b"holder"
                s.sendall(frame(b"\\x01JBRG" + struct.pack(">HQH", 1, 50000 + i, len(ident)) + ident))
                s.sendall(struct.pack(">I", 131060) + b"\\x03")
                held.append(s)
            print("ready", flush=True)
            end = time.time() + 60
            while time.time() < end:
                time.sleep(1)
                for s in held:
                    try: s.send(b"\\x00", socket.MSG_DONTWAIT)
                    except OSError: pass
            """
        let attacker = try BackgroundProcess(
            "/usr/bin/setpriv",
            ["--reuid", "65534", "--regid", "65534", "--clear-groups", "/usr/bin/python3", "-c", script],
            environment: [:], input: nil)
        defer {
            attacker.signal(SIGKILL)
            attacker.wait()
        }
        XCTAssertTrue(
            eventually { String(decoding: attacker.stdout, as: UTF8.self).contains("ready") }, attacker.stderrText)
        Thread.sleep(forTimeInterval: 1)  // every frame declared and reserved as far as it goes

        // Root's batches of 300 records (about 64 KiB), each acknowledged within the client's
        // 10 s (RawClient), while uid 65534's 300 frames stay declared.
        let good = try RawClient(path: socket)
        good.send(.hello(Hello(session: 777, identifier: "good")))
        guard case .welcome? = good.nextFrame() else { return XCTFail("not welcomed: \(daemon.stderrText)") }
        for round in 0..<3 {
            let records = (1...300).map {
                LogRecord(
                    level: .info, message: String(repeating: "y", count: 180) + " \(round * 300 + $0)",
                    sequence: UInt64(round * 300 + $0), origin: .unattributed)
            }
            good.send(.batch(records))
            guard case .ack(let upTo)? = good.nextFrame(), upTo == UInt64(round * 300 + 300) else {
                return XCTFail("batch \(round) not acknowledged in 10 s: \(daemon.stderrText.suffix(600))")
            }
        }
        XCTAssertTrue(attacker.isRunning, "the attack lasted the whole test")
        XCTAssertTrue(
            eventually {
                directory.lines("u_debug.log").contains { $0.contains("uid 65534 holds its part of the memory budget") }
            }, directory.lines("u_debug.log").suffix(5).joined(separator: "\n"))
        XCTAssertTrue(daemon.isRunning, daemon.stderrText)
    }

    /// Stalled frames holding every byte of the frame share: nothing deadlocks; they are
    /// closed with a reason once they make no progress while others wait, and the
    /// connections waiting behind them, a well-behaved one among them, go on.
    func testStalledFramesHoldingTheWholeBudgetAreClosedAndTheOthersGoOn() throws {
        let fixture = try CollectorFixture(files: "w", configure: { $0.memoryLimit = 2 << 20 })
        defer { fixture.stop() }
        let (directory, socket, collector) = (fixture.directory, fixture.socketPath, fixture.collector)
        let budget = collector.memoryBudget
        // Frames of 128 KiB, length prefix included: 8 of them are the whole 1 MiB frame share.
        let frameBytes = budget.frameLimit / 8
        let length = UInt32(frameBytes - 4)
        let header: [UInt8] = [
            UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF),
        ]
        var stalled: [RawClient] = []
        for index in 0..<8 {
            let client = try RawClient(path: socket)
            client.send(.hello(Hello(session: UInt64(index + 1), identifier: "stalled")))
            guard case .welcome? = client.nextFrame() else { return XCTFail("stalled client \(index) not welcomed") }
            client.send(header + [UInt8](repeating: 0x41, count: 32 << 10))
            stalled.append(client)
        }
        XCTAssertTrue(
            eventually { budget.current.frames == budget.frameLimit },
            "frames hold \(budget.current.frames) of \(budget.frameLimit)")

        // Not even a hello fits now: the good client waits (paused) until the stalled are closed.
        let good = try RawClient(path: socket)
        try UnixSocket.setTimeout(good.fd, option: SO_RCVTIMEO, seconds: 30)
        good.send(.hello(Hello(session: 999, identifier: "good")))
        guard case .welcome? = good.nextFrame() else { return XCTFail("the good client waited for ever") }
        good.send(.batch([LogRecord(level: .error, message: "after the stall", sequence: 1, origin: .unattributed)]))
        guard case .ack(1)? = good.nextFrame() else { return XCTFail("the good client's record was not acknowledged") }
        XCTAssertLessThanOrEqual(budget.current.frames, budget.frameLimit)

        let (frames, closed) = stalled[0].framesUntilClosed()
        XCTAssertTrue(closed, "the first stalled connection is closed")
        guard case .goodbye(let reason)? = frames.last else { return XCTFail("no goodbye: \(frames)") }
        XCTAssertTrue(reason.contains("made no progress"), reason)
        collector.stop()
        XCTAssertTrue(directory.lines("w_debug.log").contains { $0.hasSuffix("after the stall") })
        XCTAssertEqual(budget.current, MemoryBudget.Usage(), "every reservation given back at stop")
    }
}
