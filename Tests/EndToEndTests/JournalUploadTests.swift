import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// journald's own way off the host, as docs/fleet.md sets it up: records the bridge put
/// in this host's journald go through `systemd-journal-upload` (HTTPS, the receiver's
/// certificate checked against a CA the test makes) to a `systemd-journal-remote` on
/// "another host", a network namespace the test creates, and arrive with every field
/// intact; a receiver killed mid-stream loses nothing, because the uploader resumes
/// from the cursor it saved (`--save-state`). Needs root (namespaces) and the
/// `systemd-journal-remote` package (scripts/bootstrap installs it).
final class JournalUploadTests: XCTestCase {
    /// Every field of every record: the bridge's own (`JB_*`, `OBJECT_*`, `CODE_*`), the
    /// metadata, a multi-line message, NUL bytes, a 100 KiB value and bytes that are not
    /// UTF-8 are, at the receiver, what journald holds here.
    func testEveryFieldOfTheBridgesRecordsArrivesAtTheOtherHost() throws {
        _ = try RemoteJournalHost.prerequisites()
        let directory = try TemporaryDirectory()
        let identifier = Journal.uniqueIdentifier("jbupload")
        let start = try UploadStart.now()

        // The bridge: the `collect` daemon (as root it sends the OBJECT_* fields of this worker process),
        // the worker library in this process, and `send`.
        let socket = directory.file("d.sock")
        let daemon = try BackgroundProcess(
            Run.journalBridge, ["collect", "--socket", socket, "--no-files", "--no-console"])
        defer {
            daemon.signal(SIGTERM)
            daemon.wait(timeout: 10)
        }
        XCTAssertTrue(eventually { daemon.stderrText.contains("collecting on") }, daemon.stderrText)
        let shipper = RecordShipper(
            configuration: ShipperConfiguration(socketPath: socket, identifier: identifier, flushAtExit: nil))
        defer { shipper.shutdown(timeout: 5) }
        var logger = Logger(label: "fleet.upload") { BridgeLogHandler(label: $0, shipper: shipper) }
        logger.logLevel = .trace
        let multiLine = "first line\nsecond line\n\tindented third\n"
        // 100 KiB of printable ASCII with a newline every 1,000 bytes.
        let largeBytes: [UInt8] = (0..<100 * 1024).map { (i: Int) -> UInt8 in
            i % 1000 == 999 ? 0x0A : UInt8(0x21 + i % 94)
        }
        let large = String(decoding: largeBytes, as: UTF8.self)
        logger.warning("\(multiLine)", metadata: ["request.id": "r-42", "tenant": "ünïcödé ✓"])
        logger.info("before\u{0}after", metadata: ["nul.value": "x\u{0}y"])
        logger.debug("a large value", metadata: ["blob": "\(large)"])
        XCTAssertTrue(shipper.flush(timeout: 20), "the collector acknowledged the worker's records")
        let notUTF8: [[UInt8]] = [[0x61, 0xFF, 0xFE, 0x62], [0xC3, 0x28, 0x00, 0x7A]]
        let sent = try Run.journalBridge(
            ["send", "--socket", socket, "--identifier", identifier, "-"], stdin: notUTF8.flatMap { $0 + [0x0A] }
        )
        XCTAssertEqual(sent.status, 0, sent.stderrText)

        let local = try Journal.entries(identifier: identifier, atLeast: 5)
        XCTAssertEqual(local.count, 5, "journald here holds the five records")
        // What the bridge put in journald, so that equality at the receiver proves something.
        let byMessage = Dictionary(
            local.map { ($0.fields["MESSAGE"] ?? [], $0) }, uniquingKeysWith: { first, _ in first })
        let warning = try XCTUnwrap(byMessage[Array(multiLine.utf8)], "the multi-line message is in journald as sent")
        XCTAssertEqual(warning["REQUEST_ID"], "r-42")
        XCTAssertEqual(warning["TENANT"], "ünïcödé ✓")
        XCTAssertEqual(warning["LOGGER_LABEL"], "fleet.upload")
        XCTAssertEqual(warning["PRIORITY"], "4")
        for name in [
            "JB_SEQ", "JB_SESSION", "JB_TIMESTAMP", "JB_UID", "JB_GID", "SYSLOG_PID", "CODE_FILE", "CODE_LINE",
            "CODE_FUNC",
        ] {
            XCTAssertNotNil(warning.fields[name], "\(name) in journald")
        }
        if geteuid() == 0 {
            XCTAssertEqual(
                warning["OBJECT_UID"], String(geteuid()), "as root the collector vouches for the worker (OBJECT_*)")
            XCTAssertNotNil(warning.fields["OBJECT_COMM"], "the worker's OBJECT_COMM, read when it connected")
        }
        let nul = try XCTUnwrap(byMessage[Array("before\u{0}after".utf8)], "the NUL byte is in journald")
        XCTAssertEqual(nul.fields["NUL_VALUE"], [0x78, 0x00, 0x79])
        XCTAssertEqual(
            byMessage[Array("a large value".utf8)]?.fields["BLOB"], Array(large.utf8),
            "the 100 KiB value is in journald")
        for bytes in notUTF8 { XCTAssertNotNil(byMessage[bytes], "\(bytes) in journald as sent") }

        let remote = try RemoteJournalHost()
        defer { remote.close() }
        try remote.startReceiver()

        // A receiver whose certificate the CA does not sign is refused: nothing is sent.
        let refused = try remote.uploadOnce(after: start.cursor, trust: remote.wrongCA)
        XCTAssertNotEqual(refused.status, 0, "an uploader refuses a receiver its CA did not sign")
        XCTAssertTrue(refused.stderr.contains("SSL certificate problem"), refused.stderr)
        XCTAssertEqual(try remote.received(identifier: identifier).count, 0)

        XCTAssertTrue(
            eventually(timeout: 20) { (try? remote.uploadOnce(after: start.cursor).status) == 0 },
            "the uploader sent the journal to the receiver"
        )
        let received = try remote.received(identifier: identifier)
        XCTAssertEqual(received.count, local.count, "each record arrives once")
        // The entry the receiver wrote is the entry journald wrote here, field for field and
        // byte for byte (the receiver's cursor names its own file, so it differs).
        func comparable(_ entry: Journal.Entry) -> [String: [[UInt8]]] {
            entry.repeated.filter { $0.key != "__CURSOR" }
        }
        let remoteByKey = Dictionary(
            received.map { ("\($0["JB_SESSION"] ?? "") \($0["JB_SEQ"] ?? "")", $0) },
            uniquingKeysWith: { first, _ in first }
        )
        for entry in local {
            let key = "\(entry["JB_SESSION"] ?? "") \(entry["JB_SEQ"] ?? "")"
            guard let arrived = remoteByKey[key] else {
                XCTFail("record \(key) did not arrive")
                continue
            }
            let expected = comparable(entry)
            let got = comparable(arrived)
            XCTAssertEqual(Set(got.keys), Set(expected.keys), "the same field names for \(key)")
            for (name, values) in expected where got[name] != values {
                XCTFail(
                    "\(name) of \(key) differs at the receiver: \(got[name]?.map(\.count) ?? []) bytes, sent \(values.map(\.count))"
                )
            }
        }
    }

    /// Numbered records logged without pause through an in-process collector while the receiver
    /// is killed (SIGKILL) and started again, twice; the uploader exits on each failed upload and
    /// is started again as systemd's `Restart=` would, with the same `--save-state` file.
    /// Every number arrives; a number arrives twice only when the upload that carried it was cut
    /// by a kill (the cursor is saved when an upload completes).
    func testAReceiverKilledMidStreamMissesNothingThanksToTheUploadersSavedCursor() throws {
        _ = try RemoteJournalHost.prerequisites()
        let directory = try TemporaryDirectory()
        let identifier = Journal.uniqueIdentifier("jbupload")
        let start = try UploadStart.now()
        // The bridge: an in-process collector to the real journald and the worker library.
        let socket = directory.file("c.sock")
        let collector = Collector(
            configuration: CollectorConfiguration(socketPath: socket),
            routes: try SinkConfiguration(
                base: directory.file("c"), errorFileLevel: nil, debugFileLevel: nil, consoleLevel: nil,
                journaldLevel: .trace
            ).makeRoutes()
        )
        try collector.start()
        defer { collector.stop() }

        let remote = try RemoteJournalHost()
        defer { remote.close() }
        try remote.startReceiver()
        let uploader = remote.superviseUploader(after: start.cursor)
        defer { uploader.stop() }

        let shipper = RecordShipper(
            configuration: ShipperConfiguration(socketPath: socket, identifier: identifier, flushAtExit: nil))
        defer { shipper.shutdown(timeout: 5) }
        let producer = NumberedProducer(shipper: shipper)
        producer.start()
        defer { producer.stop() }
        func arrived() -> Int { (try? remote.receivedMessages(identifier: identifier).count) ?? 0 }

        var loggedWhileDown = 0
        var resendable = 0
        for (round, target) in [300, 900].enumerated() {
            XCTAssertTrue(
                uploader.waitFor(timeout: 20) { arrived() >= target },
                "round \(round): \(arrived()) of \(target) arrived; uploader: \(uploader.lastError)"
            )
            XCTAssertTrue(FileManager.default.fileExists(atPath: remote.state), "the uploader saved its cursor")
            remote.killReceiver()
            let loggedAtKill = producer.logged
            // The uploader notices, exits and is restarted (and fails) while the receiver is away.
            let exits = uploader.exits
            XCTAssertTrue(
                uploader.waitFor(timeout: 10) { uploader.exits > exits },
                "round \(round): the uploader saw the receiver go")
            // The next start resumes at the saved cursor (systemd 252 sends that entry again): of
            // what had arrived, only the numbers from it on can arrive again.
            let cursor = try XCTUnwrap(remote.savedCursor(), "the state file holds a cursor")
            let firstResent = Self.numbers(try Journal.localMessages(["--cursor", cursor, "-t", identifier])).min()
            let lastArrived = Self.numbers(try remote.receivedMessages(identifier: identifier)).max() ?? 0
            if let firstResent { resendable += max(0, lastArrived - firstResent + 1) }
            XCTAssertTrue(
                uploader.waitFor(timeout: 10) { producer.logged > loggedAtKill + 200 },
                "round \(round): the bridge kept logging")
            loggedWhileDown += producer.logged - loggedAtKill
            try remote.startReceiver()
        }
        let loggedAtRestart = producer.logged
        XCTAssertTrue(
            uploader.waitFor(timeout: 10) { producer.logged > loggedAtRestart + 200 }, "the bridge kept logging")
        producer.stop()
        XCTAssertTrue(shipper.flush(timeout: 20))
        let total = producer.logged
        let checker = SequenceChecker(expected: ["p1": total])

        let here = try checker.checkJournald(identifier: identifier, timeout: 20)
        XCTAssertEqual(here.missingCount, 0, "journald here: \(here)")
        var there = checker.check([String]())
        XCTAssertTrue(
            uploader.waitFor(timeout: 20) {
                there = checker.check((try? remote.receivedMessages(identifier: identifier)) ?? [])
                return there.missingCount == 0
            },
            "at the receiver: \(there)"
        )
        XCTAssertEqual(there.found, total + there.duplicates, "every number once, plus the duplicates counted")
        // The restarts had no --after-cursor, only the saved state: had they ignored it, they would
        // have sent the journal from its head.
        XCTAssertEqual(try remote.receivedBefore(start), 0, "no restart began before the saved cursor")
        XCTAssertLessThanOrEqual(
            there.duplicates, resendable, "only numbers from the saved cursors on arrived again: \(there)")
        print(
            "UPLOAD records=\(total) logged-while-receiver-down=\(loggedWhileDown) uploader-exits=\(uploader.exits) "
                + "duplicates=\(there.duplicates) from-saved-cursors=\(resendable) missing=\(there.missingCount)"
        )
    }
}

extension JournalUploadTests {
    /// The n of each `p1 seq:n`.
    fileprivate static func numbers<S: Sequence>(_ messages: S) -> [Int] where S.Element: StringProtocol {
        messages.compactMap { message in message.range(of: "seq:").flatMap { Int(message[$0.upperBound...]) } }
    }
}

extension Journal {
    /// MESSAGE values of this host's journal (`journalctl -o cat`) for the arguments.
    fileprivate static func localMessages(_ arguments: [String]) throws -> [Substring] {
        try Run.command("/usr/bin/journalctl", ["-o", "cat", "--no-pager", "-q"] + arguments).stdoutText.split(
            separator: "\n")
    }
}

/// Where this host's journal ends before a test writes: the uploader starts after it.
private struct UploadStart {
    var cursor: String?
    /// `__REALTIME_TIMESTAMP` of that entry, microseconds.
    var realtime: UInt64

    static func now() throws -> UploadStart {
        let last = try Journal.query(["-n", "1"]).first
        return UploadStart(
            cursor: last?["__CURSOR"], realtime: last?["__REALTIME_TIMESTAMP"].flatMap { UInt64($0) } ?? 0)
    }
}

/// Logs `p1 seq:1`, `p1 seq:2`, ... through the worker library, one a millisecond, until stopped.
private final class NumberedProducer: @unchecked Sendable {
    private let shipper: RecordShipper
    private let lock = NSLock()
    private var count = 0
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)
    private var started = false

    init(shipper: RecordShipper) { self.shipper = shipper }

    var logged: Int { lock.withLock { count } }

    func start() {
        started = true
        Thread { [self] in
            let logger = Logger(label: "fleet.numbered") { BridgeLogHandler(label: $0, shipper: self.shipper) }
            // Bounded: a test that never stops it still ends.
            for n in 1...200_000 {
                if lock.withLock({ stopping }) { break }
                logger.info("p1 seq:\(n)")
                lock.withLock { count = n }
                Thread.sleep(forTimeInterval: 0.001)
            }
            done.signal()
        }.start()
    }

    func stop() {
        guard started else { return }
        started = false
        lock.withLock { stopping = true }
        // The loop checks `stopping` between records a millisecond apart; logging never blocks.
        if done.wait(timeout: .now() + 10) == .timedOut { XCTFail("the producer did not stop") }
    }
}

/// Two network namespaces made for one test, joined by a veth pair on a private /30 that
/// exists only inside them: the "sender" runs `systemd-journal-upload` (reading this host's
/// journal files, which the namespace does not change), the "receiver" runs
/// `systemd-journal-remote` over HTTPS with a certificate from a CA the test made.
/// `close()` (also on deinit) kills both and deletes the namespaces; namespaces left by a
/// test process that died are deleted by the next one.
private final class RemoteJournalHost: @unchecked Sendable {
    static let prefix = "jbupload-"
    static let senderAddress = "10.213.47.1"
    static let receiverAddress = "10.213.47.2"
    static let port = 19532

    let directory: TemporaryDirectory
    let sender: String
    let receiver: String
    let ip: String
    var output: String { directory.file("received") }
    var state: String { directory.file("upload.state") }
    var url: String { "https://\(Self.receiverAddress):\(Self.port)" }
    var ca: String { directory.file("ca.pem") }
    var wrongCA: String { directory.file("wrong-ca.pem") }
    private var receiverProcess: BackgroundProcess?
    private var closed = false

    /// ip(8); skips the test where namespaces cannot be made (not root, no iproute2), fails it
    /// where only the packages are missing: CI must run it, and scripts/bootstrap installs them.
    static func prerequisites() throws -> String {
        guard geteuid() == 0 else { throw XCTSkip("network namespaces need root") }
        guard
            let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first(
                where: FileManager.default.isExecutableFile)
        else {
            throw XCTSkip("no ip(8) here (Debian's iproute2)")
        }
        for tool in ["/lib/systemd/systemd-journal-remote", "/lib/systemd/systemd-journal-upload", "/usr/bin/openssl"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            throw Run.Failure(
                description:
                    "\(tool) is missing: run scripts/bootstrap (it installs systemd-journal-remote and openssl)")
        }
        return ip
    }

    init() throws {
        ip = try Self.prerequisites()
        directory = try TemporaryDirectory()
        let tag = "\(getpid())-\(UUID().uuidString.prefix(4).lowercased())"
        sender = Self.prefix + "s-" + tag
        receiver = Self.prefix + "r-" + tag
        Self.removeAbandoned(ip: ip)
        let probe = try Run.command(ip, ["netns", "add", sender])
        guard probe.status == 0 else { throw XCTSkip("cannot create a network namespace here: \(probe.stderrText)") }
        do {
            let veth = String(tag.suffix(4))
            try run(ip, ["netns", "add", receiver])
            try run(
                ip,
                [
                    "link", "add", "jbus" + veth, "netns", sender, "type", "veth", "peer", "name", "jbur" + veth,
                    "netns", receiver,
                ])
            try run(ip, ["-n", sender, "addr", "add", Self.senderAddress + "/30", "dev", "jbus" + veth])
            try run(ip, ["-n", receiver, "addr", "add", Self.receiverAddress + "/30", "dev", "jbur" + veth])
            for (namespace, device) in [(sender, "jbus" + veth), (receiver, "jbur" + veth)] {
                try run(ip, ["-n", namespace, "link", "set", "lo", "up"])
                try run(ip, ["-n", namespace, "link", "set", device, "up"])
            }
            try makeCertificates()
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            close()
            throw error
        }
    }

    private func run(_ executable: String, _ arguments: [String]) throws {
        let result = try Run.command(executable, arguments)
        guard result.status == 0 else {
            throw Run.Failure(
                description:
                    "\(executable) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderrText)")
        }
    }

    /// A CA, the receiver's key and certificate (for its address) signed by it, and an unrelated CA.
    private func makeCertificates() throws {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run(
            "/usr/bin/openssl",
            ["req", "-x509"] + ec + [
                "-days", "1", "-subj", "/CN=jbtest CA", "-keyout", directory.file("ca.key"), "-out", ca,
            ])
        try run(
            "/usr/bin/openssl",
            ["req", "-x509"] + ec + [
                "-days", "1", "-subj", "/CN=jbtest other CA", "-keyout", directory.file("wrong-ca.key"), "-out",
                wrongCA,
            ])
        try run(
            "/usr/bin/openssl",
            ["req"] + ec + [
                "-subj", "/CN=receiver", "-keyout", directory.file("receiver.key"), "-out",
                directory.file("receiver.csr"),
            ])
        try "subjectAltName=IP:\(Self.receiverAddress)\n".write(
            toFile: directory.file("receiver.ext"), atomically: true, encoding: .utf8)
        try run(
            "/usr/bin/openssl",
            [
                "x509", "-req", "-in", directory.file("receiver.csr"), "-CA", ca, "-CAkey", directory.file("ca.key"),
                "-CAcreateserial",
                "-days", "1", "-extfile", directory.file("receiver.ext"), "-out", directory.file("receiver.pem"),
            ])
    }

    /// Starts `systemd-journal-remote` in the receiver namespace (again after a kill: same
    /// directory) and waits until it listens.
    func startReceiver() throws {
        receiverProcess = try BackgroundProcess(
            ip,
            [
                "netns", "exec", receiver, "/lib/systemd/systemd-journal-remote",
                "--listen-https=\(Self.receiverAddress):\(Self.port)", "--key=\(directory.file("receiver.key"))",
                "--cert=\(directory.file("receiver.pem"))", "--output=\(output)/",
            ])
        let listening = eventually(timeout: 10) {
            let sockets = try? Run.command(ip, ["netns", "exec", receiver, "ss", "-Hltn", "sport = :\(Self.port)"])
            return !(sockets?.stdout.isEmpty ?? true)
        }
        guard listening else {
            throw Run.Failure(
                description: "systemd-journal-remote does not listen: \(receiverProcess?.stderrText ?? "")")
        }
    }

    /// SIGKILL: no chance to finish the upload in progress or close its journal file.
    func killReceiver() {
        receiverProcess?.signal(SIGKILL)
        receiverProcess?.wait(timeout: 10)
        receiverProcess = nil
    }

    func uploaderArguments(after cursor: String?, trust: String? = nil, follow: Bool, saveState: Bool) -> [String] {
        var arguments = [
            "netns", "exec", sender, "/lib/systemd/systemd-journal-upload", "--url=\(url)", "--trust=\(trust ?? ca)",
            "--key=-", "--cert=-", "--follow=\(follow ? "yes" : "no")",
        ]
        if saveState { arguments.append("--save-state=\(state)") }
        // A cursor given on the command line wins over the saved one: only until there is one.
        if let cursor, !saveState || !FileManager.default.fileExists(atPath: state) {
            arguments.append("--after-cursor=\(cursor)")
        }
        return arguments
    }

    /// One upload of everything after `cursor` up to the journal's end; its status and stderr.
    func uploadOnce(after cursor: String?, trust: String? = nil) throws -> (status: Int32, stderr: String) {
        let process = try BackgroundProcess(
            ip, uploaderArguments(after: cursor, trust: trust, follow: false, saveState: false))
        let status = process.wait(timeout: 20)
        return (status, process.stderrText)
    }

    func superviseUploader(after cursor: String?) -> UploaderSupervisor {
        UploaderSupervisor { [self] in
            try BackgroundProcess(ip, uploaderArguments(after: cursor, follow: true, saveState: true))
        }
    }

    /// The cursor the uploader saved (`LAST_CURSOR=` in its state file).
    func savedCursor() -> String? {
        guard let text = try? String(contentsOfFile: state, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("LAST_CURSOR=") }.map {
            String($0.dropFirst("LAST_CURSOR=".count))
        }
    }

    /// The test's entries at the receiver (`journalctl --directory`).
    func received(identifier: String) throws -> [Journal.Entry] {
        try Journal.query(["--directory", output, "-t", identifier])
    }

    func receivedMessages(identifier: String) throws -> [Substring] {
        let result = try Run.command(
            "/usr/bin/journalctl", ["--directory", output, "-t", identifier, "-o", "cat", "--no-pager", "-q"])
        return result.stdoutText.split(separator: "\n")
    }

    /// Entries at the receiver from more than a second before the test's starting point.
    func receivedBefore(_ start: UploadStart) throws -> Int {
        guard start.realtime > 1_000_000 else { return 0 }
        let until = "@\(start.realtime / 1_000_000 - 1)"
        let result = try Run.command(
            "/usr/bin/journalctl", ["--directory", output, "--until", until, "-o", "cat", "--no-pager", "-q"])
        return result.stdoutText.split(separator: "\n").count
    }

    func close() {
        guard !closed else { return }
        closed = true
        killReceiver()
        Self.delete(ip: ip, sender)
        Self.delete(ip: ip, receiver)
    }

    deinit { close() }

    /// Kills what still runs in a namespace, then deletes it (and with it its end of the veth pair).
    private static func delete(ip: String, _ namespace: String) {
        if let pids = try? Run.command(ip, ["netns", "pids", namespace]) {
            for pid in pids.stdoutText.split(separator: "\n").compactMap({ pid_t($0) }) { kill(pid, SIGKILL) }
        }
        _ = try? Run.command(ip, ["netns", "delete", namespace])
    }

    /// Namespaces of this test whose process (the pid in their name) is gone.
    private static func removeAbandoned(ip: String) {
        guard let list = try? Run.command(ip, ["netns", "list"]) else { return }
        for line in list.stdoutText.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix(prefix) else { continue }
            let pid = name.dropFirst(prefix.count + 2).split(separator: "-").first.flatMap { pid_t($0) } ?? 0
            if pid > 0 && kill(pid, 0) != 0 && errno == ESRCH { delete(ip: ip, name) }
        }
    }
}

/// Runs `systemd-journal-upload --follow` and starts it again a quarter second after it exits,
/// as the packaged unit's `Restart=on-failure` does; counts the exits. Driven by `tick()` from
/// the test's own thread: a child spawned from another thread while the test runs journalctl
/// would inherit journalctl's pipe and keep it from ever ending.
private final class UploaderSupervisor {
    private let start: () throws -> BackgroundProcess
    private var process: BackgroundProcess?
    private var restartAt = Date.distantPast
    private(set) var exits = 0
    private(set) var lastError = ""

    init(_ start: @escaping () throws -> BackgroundProcess) {
        self.start = start
        tick()
    }

    func tick() {
        if let process, !process.isRunning {
            process.wait(timeout: 1)
            exits += 1
            lastError = process.stderrText
            self.process = nil
            restartAt = Date().addingTimeInterval(0.25)
        }
        if process == nil && Date() >= restartAt { process = try? start() }
    }

    /// Waits (up to `timeout` s) for `condition`, restarting the uploader meanwhile.
    func waitFor(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            tick()
            if condition() { return true }
            if Date() > deadline { return false }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    func stop() {
        process?.signal(SIGTERM)
        process?.wait(timeout: 5)
        process = nil
    }
}
