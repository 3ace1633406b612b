import Logging

/// A syslog PRI: facility and severity, `<PRIVAL>` with PRIVAL = facility * 8 + severity.
package struct SyslogPriority: Sendable, Equatable {
    /// 0 (kern) ... 23 (local7).
    package var facility: UInt8
    /// 0 (emerg) ... 7 (debug).
    package var severity: UInt8

    /// What RFC 3164 (section 4.3.3) assigns a message that came without a valid PRI: user.notice.
    package static let missing = SyslogPriority(value: 13)!

    package init?(value: Int) {
        guard (0...191).contains(value) else { return nil }
        facility = UInt8(value / 8)
        severity = UInt8(value % 8)
    }

    /// The PRIVAL as sent: journald's `PRIORITY` is the severity alone.
    package var value: Int { Int(facility) * 8 + Int(severity) }

    /// swift-log's level for a severity: 7 debug, 6 info, 5 notice, 4 warning, 3 error, and
    /// 2, 1, 0 (crit, alert, emerg) critical, so that WARNING and above reach the error file.
    package var level: Logger.Level {
        switch severity {
        case 7: .debug
        case 6: .info
        case 5: .notice
        case 4: .warning
        case 3: .error
        default: .critical
        }
    }

    /// Parses `<PRIVAL>` at the start of `bytes`: one to three digits, 0 ... 191 (leading
    /// zeros tolerated, as rsyslog does). Returns the priority and the index after `>`, or
    /// nil when the bytes do not start with a valid PRI.
    package static func parse(_ bytes: UnsafeRawBufferPointer) -> (SyslogPriority, Int)? {
        guard bytes.count >= 3, bytes[0] == UInt8(ascii: "<") else { return nil }
        var value = 0
        var index = 1
        while index < bytes.count, index <= 4, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        guard index > 1, index <= 4, index < bytes.count, bytes[index] == UInt8(ascii: ">"),
            let priority = SyslogPriority(value: value)
        else { return nil }
        return (priority, index + 1)
    }
}
