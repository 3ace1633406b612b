import Foundation
import JournalBridge
import JournalBridgeTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `journal-bridge collect` with syslog inputs, fed by real syslog clients only: logger(1),
/// Python's SysLogHandler, glibc's syslog(3). Each test reads back journald and the files.
final class SyslogInputTests: XCTestCase {
    /// A collector with syslog inputs, its files in `directory`, its bound ports parsed from stderr.
    final class SyslogDaemon {
        let directory: TemporaryDirectory
        let process: BackgroundProcess
        var datagram: String { directory.file("syslog.dgram") }
        var stream: String { directory.file("syslog.stream") }

        /// `within`: a command the collector runs under (`ip netns exec NS`); `network`: its TCP and UDP addresses.
        init(
            _ extra: [String] = [], config: String = "", journald: Bool = true, within: [String] = [],
            network: String = "127.0.0.1:0"
        ) throws {
            directory = try TemporaryDirectory()
            let path = directory.file("jb.conf")
            let text = "file_format = \"%(levelname)s %(identifier)s %(process)d %(message)s\"\n" + config
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            var arguments =
                [
                    "collect", "--config", path, "--socket", directory.file("bridge.sock"), "--base",
                    directory.file("logs/jb"),
                    "--syslog-socket", directory.file("syslog.dgram"), "--syslog-stream",
                    directory.file("syslog.stream"),
                    "--syslog-tcp", network, "--syslog-udp", network,
                ] + extra
            if !journald { arguments.append("--no-journald") }
            let command = within + [Run.journalBridge] + arguments
            process = try BackgroundProcess(command[0], Array(command.dropFirst()))
            guard eventually(timeout: 20, { self.process.stderrText.contains("syslog input syslog-udp") }) else {
                throw Run.Failure(description: "the collector did not start: \(process.stderrText)")
            }
        }

        /// The port the kernel chose for `syslog-tcp` or `syslog-udp`.
        func port(_ name: String) -> String {
            for line in process.stderrText.split(separator: "\n") where line.contains("syslog input \(name)") {
                if let colon = line.lastIndex(of: ":") { return String(line[line.index(after: colon)...].dropLast()) }
            }
            return "0"
        }

        var debugLines: [String] { directory.lines("logs/jb_debug.log") }
        var errorLines: [String] { directory.lines("logs/jb_error.log") }

        /// SIGTERM, and the exit status; stderr has the per-input counts after it.
        func stop() -> Int32 {
            process.signal(SIGTERM)
            return process.wait()
        }
    }

    @discardableResult
    private func logger(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> pid_t {
        let process = try BackgroundProcess("/usr/bin/logger", arguments)
        XCTAssertEqual(process.wait(), 0, "logger \(arguments): \(process.stderrText)", file: file, line: line)
        return process.pid
    }

    /// RFC 5424 with SD, MSGID and a claimed PROCID over the datagram socket: every part a field;
    /// the kernel's pid, uid and gid (SCM_CREDENTIALS) are the bridge's, the claim stays a claim.
    func testLoggerOnTheDatagramSocketKeepsEveryPartAndTheKernelsIdentity() throws {
        let daemon = try SyslogDaemon()
        let tag = Journal.uniqueIdentifier("sl-dgram")
        let pid = try logger([
            "-u", daemon.datagram, "-d", "--socket-errors=on", "--rfc5424", "--sd-id", "zoo@32473", "--sd-param",
            "tiger=\"hungry\"",
            "--sd-param", "zebra=\"striped\"", "--msgid", "MSG42", "--id=4242", "-p", "local4.warning", "-t", tag,
            "datagram five four two four",
        ])
        try logger([
            "-u", daemon.datagram, "-d", "--rfc3164", "-p", "user.err", "-t", tag, "datagram three one six four",
        ])
        let entries = try Journal.entries(identifier: tag, atLeast: 2)
        XCTAssertEqual(entries.count, 2, "\(entries.map(\.fields))")
        let rfc5424 = try XCTUnwrap(entries.first { $0["MESSAGE"] == "datagram five four two four" })
        XCTAssertEqual(rfc5424["PRIORITY"], "4")
        XCTAssertEqual(rfc5424["SYSLOG_FACILITY"], "20")
        XCTAssertEqual(rfc5424["SYSLOG_MSGID"], "MSG42")
        XCTAssertEqual(rfc5424["ZOO_32473_TIGER"], "hungry")
        XCTAssertEqual(rfc5424["ZOO_32473_ZEBRA"], "striped")
        XCTAssertEqual(rfc5424["SYSLOG_PID"], "4242", "the claim, as sent")
        XCTAssertEqual(rfc5424["JB_PID"], String(pid), "the kernel's pid")
        XCTAssertEqual(rfc5424["JB_UID"], String(getuid()))
        XCTAssertEqual(rfc5424["JB_GID"], String(getgid()))
        XCTAssertNil(rfc5424["OBJECT_PID"], "the sender's facts are the collector's to read, never the payload's")
        XCTAssertNil(rfc5424["JB_SYSLOG_PEER"], "a Unix socket has no network peer")
        let rfc3164 = try XCTUnwrap(entries.first { $0["MESSAGE"] == "datagram three one six four" })
        XCTAssertEqual(rfc3164["PRIORITY"], "3")
        XCTAssertNotNil(rfc3164["SYSLOG_TIMESTAMP"])
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        XCTAssertTrue(
            daemon.debugLines.contains("WARNING \(tag) \(pid) datagram five four two four"), "\(daemon.debugLines)")
        XCTAssertTrue(
            daemon.errorLines.contains { $0.hasPrefix("ERROR \(tag) ") && $0.hasSuffix(" datagram three one six four") }
        )
        XCTAssertTrue(
            daemon.process.stderrText.contains("syslog-socket \(daemon.datagram): 2 messages, 0 malformed"),
            daemon.process.stderrText)
    }

    /// The Unix stream socket and TCP, both RFC 6587 framings, as logger sends them; TCP and UDP
    /// records carry the peer's address and no pid.
    func testLoggerOnStreamTCPAndUDPInBothFramings() throws {
        let daemon = try SyslogDaemon()
        let tag = Journal.uniqueIdentifier("sl-net")
        let tcp = daemon.port("syslog-tcp")
        let udp = daemon.port("syslog-udp")
        try logger(["-u", daemon.stream, "-T", "--socket-errors=on", "--rfc5424", "-t", tag, "unix stream lf"])
        try logger([
            "-u", daemon.stream, "-T", "--socket-errors=on", "--octet-count", "--rfc5424", "-t", tag,
            "unix stream counted",
        ])
        try logger(["-n", "127.0.0.1", "-P", tcp, "-T", "--rfc5424", "-t", tag, "tcp lf"])
        try logger([
            "-n", "127.0.0.1", "-P", tcp, "-T", "--octet-count", "--rfc5424", "--msgid", "NET", "-t", tag,
            "tcp counted",
        ])
        try logger(["-n", "127.0.0.1", "-P", udp, "-d", "--rfc3164", "-t", tag, "udp datagram"])
        let entries = try Journal.entries(identifier: tag, atLeast: 5)
        XCTAssertEqual(
            Set(entries.compactMap { $0["MESSAGE"] }),
            ["unix stream lf", "unix stream counted", "tcp lf", "tcp counted", "udp datagram"])
        XCTAssertEqual(entries.count, 5, "each stored once")
        for entry in entries {
            let message = entry["MESSAGE"] ?? ""
            if message.hasPrefix("unix") {
                XCTAssertNotNil(entry["JB_PID"], message)
                XCTAssertNil(entry["JB_SYSLOG_PEER"], message)
            } else {
                XCTAssertNil(entry["JB_PID"], "no pid from the network: \(message)")
                XCTAssertNil(entry["OBJECT_PID"], message)
                XCTAssertEqual(entry["JB_UID"], "4294967295", message)
                XCTAssertTrue(entry["JB_SYSLOG_PEER"]?.hasPrefix("127.0.0.1:") == true, "\(entry.fields.keys.sorted())")
            }
        }
        XCTAssertEqual(entries.first { $0["MESSAGE"] == "tcp counted" }?["SYSLOG_MSGID"], "NET")
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        for message in ["unix stream lf", "unix stream counted", "tcp lf", "tcp counted", "udp datagram"] {
            XCTAssertEqual(
                daemon.debugLines.filter { $0.hasSuffix(" \(message)") && $0.contains(tag) }.count, 1, message)
        }
    }

    /// The Python pattern: several processes with SysLogHandler, on the Unix socket and on TCP.
    func testPythonSysLogHandlerFromSeveralProcessesStoresEveryRecordOnce() throws {
        let daemon = try SyslogDaemon()
        let tag = Journal.uniqueIdentifier("sl-py")
        let script = """
            import logging, logging.handlers, socket, sys
            kind, target, tag, worker = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
            if kind == "unix":
                handler = logging.handlers.SysLogHandler(address=target)
            else:
                host, port = target.rsplit(":", 1)
                handler = logging.handlers.SysLogHandler(address=(host, int(port)), socktype=socket.SOCK_STREAM)
            handler.setFormatter(logging.Formatter(tag + ": %(levelname)s %(message)s"))
            log = logging.getLogger("app")
            log.addHandler(handler)
            log.setLevel(logging.DEBUG)
            for i in range(200):
                log.warning("%s %s record %d", kind, worker, i) if i % 10 == 0 else log.info("%s %s record %d", kind, worker, i)
            handler.close()
            """
        let path = daemon.directory.file("sender.py")
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        var senders: [BackgroundProcess] = []
        for worker in 0..<4 {
            senders.append(
                try BackgroundProcess("/usr/bin/env", ["python3", path, "unix", daemon.datagram, tag, "w\(worker)"]))
            senders.append(
                try BackgroundProcess(
                    "/usr/bin/env",
                    ["python3", path, "tcp", "127.0.0.1:\(daemon.port("syslog-tcp"))", tag, "w\(worker)"]))
        }
        for sender in senders { XCTAssertEqual(sender.wait(timeout: 60), 0, sender.stderrText) }
        let entries = try Journal.entries(identifier: tag, atLeast: 1600, timeout: 40)
        XCTAssertEqual(entries.count, 1600)
        XCTAssertEqual(Set(entries.compactMap { $0["MESSAGE"] }).count, 1600, "each once")
        XCTAssertEqual(entries.filter { $0["PRIORITY"] == "4" }.count, 160)
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        XCTAssertEqual(daemon.debugLines.filter { $0.contains(tag) }.count, 1600)
        XCTAssertEqual(daemon.errorLines.filter { $0.contains(tag) }.count, 160, "WARNING reaches the error file")
    }

    /// glibc's syslog(3) from a program whose /dev/log is the bridge's datagram socket (a private
    /// mount namespace): the local RFC 3164 form, the kernel's pid; as root, the sender's facts
    /// read by the collector (`PeerIdentityCache`) as `OBJECT_*`, and no `OBJECT_PID`.
    func testGlibcSyslogThroughDevLog() throws {
        let daemon = try SyslogDaemon()
        let tag = Journal.uniqueIdentifier("sl-glibc")
        let source = daemon.directory.file("sender.c")
        try """
        #include <syslog.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            openlog(argv[1], LOG_PID, LOG_LOCAL3);
            for (int i = 0; i < 20; i++) syslog(i == 0 ? LOG_ERR : LOG_INFO, "glibc message %d", i);
            closelog();
            sleep(1);  /* alive while the collector reads its /proc entry */
            return 0;
        }
        """.write(toFile: source, atomically: true, encoding: .utf8)
        let binary = daemon.directory.file("sender")
        let compiled = try Run.command("/usr/bin/cc", ["-o", binary, source])
        XCTAssertEqual(compiled.status, 0, compiled.stderrText)
        // Where /dev/log does not exist (a container without journald's link), a tmpfs over /dev
        // in the private namespace holds an empty file to mount the socket on.
        let script = """
            if [ ! -e /dev/log ] && [ ! -L /dev/log ]; then mount -t tmpfs tmpfs /dev && : > /dev/log; fi
            mount --bind "$0" /dev/log && exec "$1" "$2"
            """
        let run = try Run.command("/usr/bin/unshare", ["-m", "/bin/sh", "-c", script, daemon.datagram, binary, tag])
        XCTAssertEqual(run.status, 0, run.stderrText)
        let entries = try Journal.entries(identifier: tag, atLeast: 20)
        XCTAssertEqual(entries.count, 20)
        for entry in entries {
            XCTAssertEqual(entry["SYSLOG_FACILITY"], "19")
            XCTAssertEqual(entry["SYSLOG_PID"], entry["JB_PID"], "glibc claims its own pid, which the kernel confirms")
            XCTAssertNil(entry["OBJECT_PID"], "the collector names the sender itself")
            if geteuid() == 0 {  // the collector attributes only as root
                XCTAssertEqual(entry["OBJECT_UID"], String(getuid()))
                XCTAssertEqual(entry["OBJECT_COMM"], "sender")
                XCTAssertEqual(entry["OBJECT_EXE"], binary)
            }
        }
        XCTAssertEqual(entries.filter { $0["PRIORITY"] == "3" }.map { $0["MESSAGE"] }, ["glibc message 0"])
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        XCTAssertEqual(daemon.debugLines.filter { $0.contains(" \(tag) ") }.count, 20)
    }

    /// Bytes are bytes: a message that is not UTF-8 reaches journald as sent and the files escaped,
    /// one line; a malformed one is stored with its reason and counted.
    func testInvalidUTF8AndMalformedMessagesAreStoredAsSent() throws {
        let daemon = try SyslogDaemon()
        let tag = Journal.uniqueIdentifier("sl-bytes")
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            tag = sys.argv[2].encode()
            s.sendto(b"<12>" + tag + b": caf\\xe9 \\xff\\xfe end", sys.argv[1])
            s.sendto(b"<999>" + tag + b": no valid priority", sys.argv[1])
            """
        let sender = try BackgroundProcess("/usr/bin/env", ["python3", "-c", script, daemon.datagram, tag])
        XCTAssertEqual(sender.wait(), 0, sender.stderrText)
        let entries = try Journal.entries(identifier: tag, atLeast: 1)
        let binary = try XCTUnwrap(entries.first)
        XCTAssertEqual(binary.fields["MESSAGE"], Array("caf".utf8) + [0xE9, 0x20, 0xFF, 0xFE] + Array(" end".utf8))
        XCTAssertEqual(binary["PRIORITY"], "4")
        let malformed = try Journal.entries(["LOGGER_LABEL=syslog", "JB_PID=\(sender.pid)"], atLeast: 2)
        let bad = try XCTUnwrap(malformed.first { $0["JB_SYSLOG_ERROR"] != nil })
        XCTAssertEqual(bad["PRIORITY"], "5", "user.notice, as RFC 3164 says")
        XCTAssertEqual(bad["SYSLOG_RAW"], "<999>\(tag): no valid priority")
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        XCTAssertTrue(daemon.debugLines.contains { $0.hasSuffix(" caf\\xe9 \\xff\\xfe end") }, "\(daemon.debugLines)")
        XCTAssertTrue(daemon.process.stderrText.contains("2 messages, 1 malformed"), daemon.process.stderrText)
    }

    /// A message over `syslog_max_message` is cut there with a visible marker and counted; on a
    /// stream the connection goes on, and its next message is whole.
    func testOversizedMessagesAreCutWithAMarkerAndCounted() throws {
        let daemon = try SyslogDaemon(config: "syslog_max_message = 1000\n")
        let tag = Journal.uniqueIdentifier("sl-big")
        let big = String(repeating: "x", count: 5000)
        try logger([
            "-u", daemon.datagram, "-d", "--socket-errors=on", "-S", "10000", "--rfc3164", "-t", tag, "dgram" + big,
        ])
        let file = daemon.directory.file("lines.txt")
        try "stream\(big)\nstream small after\n".write(toFile: file, atomically: true, encoding: .utf8)
        try logger([
            "-n", "127.0.0.1", "-P", daemon.port("syslog-tcp"), "-T", "--octet-count", "-S", "10000", "--rfc3164", "-t",
            tag, "-f", file,
        ])
        let entries = try Journal.entries(identifier: tag, atLeast: 3)
        XCTAssertEqual(entries.count, 3, "\(entries.map { $0["MESSAGE"]?.prefix(40) })")
        let cut = entries.filter { $0["MESSAGE"]?.contains("…[truncated ") == true }
        XCTAssertEqual(cut.count, 2)
        for entry in cut { XCTAssertLessThan(entry["MESSAGE"]?.utf8.count ?? 0, 1100) }
        XCTAssertEqual(entries.filter { $0["MESSAGE"] == "stream small after" }.count, 1)
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        XCTAssertTrue(
            daemon.process.stderrText.contains("syslog-socket \(daemon.datagram): 1 messages, 0 malformed, 1 cut"),
            daemon.process.stderrText)
        XCTAssertTrue(
            daemon.process.stderrText.contains("syslog-tcp 127.0.0.1:0: 2 messages, 0 malformed, 1 cut"),
            daemon.process.stderrText)
    }

    /// Sinks that cannot keep up (a one-record queue) slow a stream client; nothing is lost.
    func testAStreamClientIsSlowedNotDroppedWhenTheSinksBackUp() throws {
        let daemon = try SyslogDaemon(config: "sink_queue_capacity = 1\n", journald: false)
        let tag = Journal.uniqueIdentifier("sl-slow")
        let file = daemon.directory.file("many.txt")
        try (0..<20000).map { "line \($0) of many" }.joined(separator: "\n").appending("\n").write(
            toFile: file, atomically: true, encoding: .utf8)
        try logger(["-n", "127.0.0.1", "-P", daemon.port("syslog-tcp"), "-T", "--rfc5424", "-t", tag, "-f", file])
        try logger(["-u", daemon.stream, "-T", "--socket-errors=on", "--octet-count", "-t", tag, "-f", file])
        XCTAssertTrue(eventually(timeout: 60) { daemon.debugLines.filter { $0.contains(tag) }.count >= 40000 })
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        let lines = daemon.debugLines.filter { $0.contains(tag) }
        XCTAssertEqual(lines.count, 40000)
        XCTAssertEqual(Set(lines.map { $0.split(separator: " ").suffix(4).joined(separator: " ") }).count, 20000)
    }

    /// Several TCP clients at once: the input's four threads (`SyslogSocketInput.streamThreads`)
    /// share the connections (each thread runs while the clients send), and every client's
    /// messages are stored once, in the order it sent them.
    func testTCPConnectionsAreSharedByTheInputsThreadsAndKeepTheirOrder() throws {
        let directory = try TemporaryDirectory()
        let daemon = try BackgroundProcess(
            Run.journalBridge,
            [
                "collect", "--config", try emptyConfig(directory), "--socket", directory.file("b.sock"), "--base",
                directory.file("jb"), "--no-journald", "--no-console", "--syslog-tcp", "127.0.0.1:0",
            ])
        XCTAssertTrue(eventually(timeout: 20) { daemon.stderrText.contains("listening on") }, daemon.stderrText)
        let port =
            daemon.stderrText.split(separator: "\n").first { $0.contains("listening on") }
            .flatMap { $0.split(separator: ":").last }.map { String($0.dropLast()) } ?? "0"
        let readers = streamThreads(of: daemon.pid)
        XCTAssertEqual(readers.count, 4, "one TCP input, four threads")
        let before = readers.map(runtime)
        let tag = Journal.uniqueIdentifier("sl-share")
        let script = """
            import logging, logging.handlers, socket, sys
            port, tag, worker = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            handler = logging.handlers.SysLogHandler(address=("127.0.0.1", port), socktype=socket.SOCK_STREAM)
            handler.setFormatter(logging.Formatter("sender: %(message)s"))
            log = logging.getLogger("app")
            log.addHandler(handler)
            log.setLevel(logging.INFO)
            for i in range(5000):
                log.info("%s %s %d", tag, worker, i)
            handler.close()
            """
        let senders = try (0..<8).map {
            try BackgroundProcess("/usr/bin/env", ["python3", "-c", script, port, tag, "w\($0)"])
        }
        for sender in senders { XCTAssertEqual(sender.wait(timeout: 60), 0, sender.stderrText) }
        XCTAssertTrue(
            eventually(timeout: 30) { directory.lines("jb_debug.log").filter { $0.contains(tag) }.count >= 40000 })
        let worked = zip(readers.map(runtime), before).map { $0 - $1 }
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.wait(), 0, daemon.stderrText)
        // An idle thread wakes once a second for microseconds; each of these parsed thousands of messages.
        XCTAssertTrue(worked.allSatisfy { $0 > 5_000_000 }, "nanoseconds run per thread: \(worked)")
        let lines = directory.lines("jb_debug.log").filter { $0.contains(tag) }
        XCTAssertEqual(lines.count, 40000)
        for worker in 0..<8 {
            let numbers = lines.compactMap { line -> Int? in
                guard let range = line.range(of: "\(tag) w\(worker) ") else { return nil }
                return Int(line[range.upperBound...])
            }
            XCTAssertTrue(
                numbers == Array(0..<5000),
                "worker \(worker): each once, in order; got \(numbers.count), first out of place at \(String(describing: zip(numbers, 0...).first { $0 != $1 }))"
            )
        }
    }

    private func emptyConfig(_ directory: TemporaryDirectory) throws -> String {
        let path = directory.file("empty.conf")
        try "".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The thread ids of `pid`'s stream input threads (named `jb-syslog-strm`).
    private func streamThreads(of pid: pid_t) -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.filter {
            (try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8))?.hasPrefix("jb-syslog-strm")
                ?? false
        }.map { "/proc/\(pid)/task/\($0)" }
    }

    /// Nanoseconds a thread has run (schedstat's first field).
    private func runtime(_ task: String) -> Int {
        let text = (try? String(contentsOfFile: task + "/schedstat", encoding: .utf8)) ?? ""
        return Int(text.split(separator: " ").first ?? "") ?? 0
    }

    /// UDP overflow: while the collector is stopped (SIGSTOP) the kernel drops what its receive
    /// queue cannot hold; `SO_RXQ_OVFL` tells us, and the count is reported through the sinks and at stop.
    func testUDPOverflowIsCountedAndReported() throws {
        let daemon = try SyslogDaemon(journald: false)
        let tag = Journal.uniqueIdentifier("sl-ovfl")
        let file = daemon.directory.file("flood.txt")
        let padding = String(repeating: "p", count: 900)
        try (0..<3000).map { "flood \($0) \(padding)" }.joined(separator: "\n").appending("\n").write(
            toFile: file, atomically: true, encoding: .utf8)
        daemon.process.signal(SIGSTOP)
        try logger(["-n", "127.0.0.1", "-P", daemon.port("syslog-udp"), "-d", "-t", tag, "-f", file])
        daemon.process.signal(SIGCONT)
        // The kernel's count comes with the next datagram that gets through.
        try logger(["-n", "127.0.0.1", "-P", daemon.port("syslog-udp"), "-d", "-t", tag, "after the flood"])
        XCTAssertTrue(eventually(timeout: 20) { daemon.debugLines.contains { $0.hasSuffix(" after the flood") } })
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        let stored = daemon.debugLines.filter { $0.contains(" flood ") && $0.contains(tag) }.count
        XCTAssertLessThan(stored, 3000, "the flood overflowed the receive queue")
        // Each datagram carries the kernel's count as of its queueing: the first report may say part,
        // the next (at most one each 10 s, and at stop) the rest.
        let reported = daemon.errorLines.compactMap { line -> Int? in
            guard let range = line.range(of: "the kernel dropped ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        XCTAssertFalse(reported.isEmpty, "\(daemon.errorLines)")
        XCTAssertEqual(reported.reduce(0, +), 3000 - stored, "\(daemon.errorLines)")
        XCTAssertTrue(
            daemon.process.stderrText.contains("\(3000 - stored) dropped by the kernel"), daemon.process.stderrText)
    }

    /// Each stream connection holds `syslog_max_message` of the memory budget while open: past
    /// the budget new connections are refused at once, counted and reported; the others work.
    func testStreamConnectionsPastTheMemoryBudgetAreRefusedAndReported() throws {
        let daemon = try SyslogDaemon(config: "memory_limit = \"16M\"\nsyslog_max_message = 1048576\n", journald: false)
        let tag = Journal.uniqueIdentifier("sl-mem")
        let script = """
            import socket, sys, time
            port, tag = int(sys.argv[1]), sys.argv[2]
            held = []
            for i in range(12):
                s = socket.create_connection(("127.0.0.1", port))
                held.append(s)
                time.sleep(0.05)
            for i, s in enumerate(held):
                try:
                    s.sendall(("<14>%s: connection %d\\n" % (tag, i)).encode())
                except OSError:
                    pass
            time.sleep(1)
            """
        let sender = try BackgroundProcess("/usr/bin/env", ["python3", "-c", script, daemon.port("syslog-tcp"), tag])
        XCTAssertEqual(sender.wait(), 0, sender.stderrText)
        XCTAssertEqual(daemon.stop(), 0, daemon.process.stderrText)
        let stored = daemon.debugLines.filter { $0.contains(tag) }.count
        XCTAssertGreaterThan(stored, 0, "the connections within the budget work")
        XCTAssertLessThan(stored, 12, "8 MiB of frame budget does not hold 12 connections of 1 MiB")
        // The first refusal is reported at once, the rest together (at most one report each 10 s, and at stop).
        let reported = daemon.errorLines.compactMap { line -> Int? in
            guard let range = line.range(of: "refused ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        XCTAssertEqual(reported.reduce(0, +), 12 - stored, "\(daemon.errorLines)")
        XCTAssertTrue(
            daemon.process.stderrText.contains("\(12 - stored) connections refused"), daemon.process.stderrText)
    }

    /// `collect` with only `--socket` runs no syslog input; bad syslog flags and keys are refused.
    func testSyslogInputsAreOffUnlessAskedAndBadValuesAreRefused() throws {
        let directory = try TemporaryDirectory()
        let plain = try BackgroundProcess(
            Run.journalBridge,
            ["collect", "--socket", directory.file("b.sock"), "--base", directory.file("jb"), "--no-journald"]
        )
        XCTAssertTrue(eventually { plain.stderrText.contains("collecting on") }, plain.stderrText)
        plain.signal(SIGTERM)
        XCTAssertEqual(plain.wait(), 0)
        XCTAssertFalse(plain.stderrText.contains("syslog"), plain.stderrText)

        let flag = try Run.journalBridge(["collect", "--syslog-tcp", "nowhere"])
        XCTAssertEqual(flag.status, 64, flag.stderrText)
        XCTAssertTrue(flag.stderrText.contains("--syslog-tcp: \"nowhere\": expected HOST:PORT"), flag.stderrText)
        let path = directory.file("bad.conf")
        try "base = \"\(directory.file("jb"))\"\nsyslog_udp = \"127.0.0.1:514, :70000\"\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        let key = try Run.journalBridge(["check-config", path])
        XCTAssertEqual(key.status, 78, key.stderrText)
        XCTAssertTrue(key.stderrText.contains("\(path):2: ") && key.stderrText.contains("syslog_udp"), key.stderrText)
    }

    /// Socket activation: systemd's socket named `syslog-socket` (`FileDescriptorName=`) is the
    /// datagram input; the service binds none of its own for that kind.
    func testAnActivatedSocketNamedSyslogSocketIsTheDatagramInput() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("activated.dgram")
        let activator = try BackgroundProcess(
            "/usr/bin/systemd-socket-activate",
            [
                "--datagram", "-l", socket, "--fdname=syslog-socket", Run.journalBridge, "collect", "--socket",
                directory.file("b.sock"),
                "--base", directory.file("logs/jb"), "--no-journald", "--syslog-socket",
                directory.file("not-this.dgram"),
            ]
        )
        XCTAssertTrue(eventually { FileManager.default.fileExists(atPath: socket) }, activator.stderrText)
        let tag = Journal.uniqueIdentifier("sl-act")
        try logger(["-u", socket, "-d", "-t", tag, "through systemd's socket"])
        XCTAssertTrue(
            eventually { directory.lines("logs/jb_debug.log").contains { $0.hasSuffix(" through systemd's socket") } },
            activator.stderrText)
        // The daemon's stderr arrives through a pipe read on another thread: it may trail the file.
        XCTAssertTrue(
            eventually { activator.stderrText.contains("syslog input syslog-socket fd 3 from systemd") },
            activator.stderrText)
        XCTAssertTrue(
            eventually { activator.stderrText.contains("collecting on \(directory.file("b.sock"))") },
            "the bridge binds its own: \(activator.stderrText)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("not-this.dgram")))
        activator.signal(SIGTERM)
        XCTAssertEqual(activator.wait(), 0, activator.stderrText)
        XCTAssertTrue(FileManager.default.fileExists(atPath: socket), "systemd's socket is not unlinked")
    }
}
