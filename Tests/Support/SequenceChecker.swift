import Foundation

/// The rsyslog-testbench way of checking delivery: every record carries
/// `p<producer> seq:<n>`; the checker reads every file (rotated ones included) and
/// journald, and reports per producer the numbers missing and the numbers seen twice.
public struct SequenceChecker {
    public struct Report: CustomStringConvertible {
        public var expected = 0
        public var found = 0
        public var missing: [String: [Int]] = [:]
        public var duplicates = 0

        public var missingCount: Int { missing.values.reduce(0) { $0 + $1.count } }

        public var description: String {
            let sample = missing.sorted { $0.key < $1.key }.prefix(3).map {
                "\($0.key): \($0.value.prefix(5))\($0.value.count > 5 ? "..." : "")"
            }
            return "expected \(expected), found \(found), missing \(missingCount) \(sample), duplicates \(duplicates)"
        }
    }

    /// Producer name -> how many numbered records it sent (numbered 1...count).
    public var expected: [String: Int]

    public init(expected: [String: Int]) { self.expected = expected }

    /// The lines a producer sends: `p3 seq:1` ... `p3 seq:N`, one per line.
    public static func lines(producer: String, count: Int, padding: Int = 0) -> String {
        let pad = padding > 0 ? " " + String(repeating: "x", count: padding) : ""
        var text = ""
        text.reserveCapacity(count * (16 + padding))
        for n in 1...max(1, count) where count > 0 { text += "\(producer) seq:\(n)\(pad)\n" }
        return text
    }

    /// Checks messages (file lines or journald MESSAGE values).
    public func check<S: Sequence>(_ messages: S) -> Report where S.Element: StringProtocol {
        var seen: [String: [UInt8]] = expected.mapValues { [UInt8](repeating: 0, count: $0 + 1) }
        var report = Report(expected: expected.values.reduce(0, +))
        for message in messages {
            guard let range = message.range(of: " seq:") else { continue }
            let before = message[..<range.lowerBound]
            let producer = String(before.split(separator: " ").last ?? "")
            let digits = message[range.upperBound...].prefix { $0.isNumber }
            guard let n = Int(digits), var marks = seen[producer], n >= 1, n < marks.count else { continue }
            report.found += 1
            if marks[n] > 0 { report.duplicates += 1 }
            marks[n] = min(marks[n] + 1, 255)
            seen[producer] = marks
        }
        for (producer, marks) in seen {
            let missing = (1..<marks.count).filter { marks[$0] == 0 }
            if !missing.isEmpty { report.missing[producer] = missing }
        }
        return report
    }

    /// Every line of `<directory>/<name>` and its rotated copies `<name>.1` ... .
    public func checkFiles(directory: String, name: String) -> Report {
        check(RotatedFiles(directory: directory, name: name).lines().filter { !$0.isEmpty })
    }

    /// Every MESSAGE journald holds for the identifier.
    public func checkJournald(identifier: String, timeout: TimeInterval = 60) throws -> Report {
        let total = expected.values.reduce(0, +)
        let result = try Journal.messages(identifier: identifier, atLeast: total, timeout: timeout)
        return check(result)
    }
}

extension Journal {
    /// Just the MESSAGE values (`journalctl -o cat`), fast enough for hundreds of thousands.
    public static func messages(identifier: String, atLeast count: Int, timeout: TimeInterval = 60) throws
        -> [Substring]
    {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let result = try Run.command("/usr/bin/journalctl", ["-t", identifier, "-o", "cat", "--no-pager"])
            let lines = result.stdoutText.split(separator: "\n")
            if lines.count >= count || Date() > deadline { return lines }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }
}
