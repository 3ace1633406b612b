import JournalBridge

/// Turns a parsed syslog message into the record every sink takes (docs/journalctl.md,
/// "Syslog messages"):
/// - severity -> the level (7 debug, 6 info, 5 notice, 4 warning, 3 error, 2/1/0 critical), and
///   `PRIORITY` exactly as sent; facility -> `SYSLOG_FACILITY`;
/// - APP-NAME or tag -> `SYSLOG_IDENTIFIER` and the record's identifier; PROCID or `[pid]` ->
///   `SYSLOG_PID`, a claim: the kernel's pid stays in `origin` (the sink writes it as `JB_PID`
///   and, as root, `OBJECT_PID`);
/// - MSGID -> `SYSLOG_MSGID`, TIMESTAMP as sent -> `SYSLOG_TIMESTAMP`, HOSTNAME -> `SYSLOG_HOSTNAME`;
/// - every SD-PARAM -> metadata `SD-ID.PARAM-NAME`, which the journald sink names by the one
///   metadata rule (`FieldName.journaldName`): `exampleSDID@32473.iut` -> `EXAMPLESDID_32473_IUT`;
/// - a malformed message: its bytes as the message and in `SYSLOG_RAW`, the reason in
///   `JB_SYSLOG_ERROR`, priority as sent if its PRI was valid, else user.notice.
/// Every value is kept as bytes: what is not UTF-8 reaches journald as sent.
package enum SyslogRecordMapping {
    /// The logger label of every syslog record (`LOGGER_LABEL`, `%(name)s` in the files).
    package static let label = "syslog"

    package enum Field {
        package static let priority = "PRIORITY"
        package static let facility = "SYSLOG_FACILITY"
        package static let identifier = "SYSLOG_IDENTIFIER"
        package static let pid = "SYSLOG_PID"
        package static let msgID = "SYSLOG_MSGID"
        package static let timestamp = "SYSLOG_TIMESTAMP"
        package static let hostname = "SYSLOG_HOSTNAME"
        package static let raw = "SYSLOG_RAW"
        package static let error = "JB_SYSLOG_ERROR"
    }

    /// - Parameters:
    ///   - origin: the sender as the kernel knows it (the input's job); its identifier is the
    ///     fallback when the message names no program.
    ///   - receivedMicros: when it arrived: the record's time unless an RFC 3339 timestamp says.
    ///   - droppedBytes: bytes cut from the message (a frame or datagram over the limit); the
    ///     message then ends with a visible `…[truncated N bytes]`.
    package static func record(
        from message: SyslogMessage, origin: Origin, receivedMicros: Int64 = LogRecord.now(), droppedBytes: Int = 0
    ) -> LogRecord {
        var origin = origin
        if let appName = message.appName { origin.identifier = String(decoding: appName, as: UTF8.self) }
        var record = LogRecord(
            level: message.priority.level, timestampMicros: message.timestampMicros ?? receivedMicros, label: label,
            message: "", origin: origin
        )
        if droppedBytes > 0 {
            let marked = message.message + Array("…[truncated \(droppedBytes) bytes]".utf8)
            marked.withUnsafeBytes { record.setMessage(bytes: $0) }
        } else {
            message.message.withUnsafeBytes { record.setMessage(bytes: $0) }
        }
        for element in message.structuredData {
            for parameter in element.parameters {
                record.metadata.append(field(element.id + "." + parameter.name, parameter.value))
            }
        }
        var fields: [MetadataField] = [
            MetadataField(Field.priority, String(message.priority.severity)),
            MetadataField(Field.facility, String(message.priority.facility)),
        ]
        if let appName = message.appName { fields.append(field(Field.identifier, appName)) }
        if let procID = message.procID { fields.append(field(Field.pid, procID)) }
        if let msgID = message.msgID { fields.append(field(Field.msgID, msgID)) }
        if let timestamp = message.timestamp { fields.append(field(Field.timestamp, timestamp)) }
        if let hostname = message.hostname { fields.append(field(Field.hostname, hostname)) }
        if let failure = message.failure {
            fields.append(field(Field.raw, message.raw))
            fields.append(MetadataField(Field.error, failure.description))
        }
        record.syslogFields = fields
        return record
    }

    private static func field(_ key: String, _ bytes: [UInt8]) -> MetadataField {
        var item = MetadataField(key, "")
        bytes.withUnsafeBytes { item.setValue(bytes: $0) }
        return item
    }
}
