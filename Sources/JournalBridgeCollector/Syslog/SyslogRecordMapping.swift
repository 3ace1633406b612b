import JournalBridge

/// Turns a parsed syslog message into the record every sink takes (docs/journalctl.md,
/// "Syslog messages"):
/// - severity -> the level (7 debug, 6 info, 5 notice, 4 warning, 3 error, 2/1/0 critical), and
///   `PRIORITY` exactly as sent; facility -> `SYSLOG_FACILITY`;
/// - APP-NAME or tag -> `SYSLOG_IDENTIFIER` and the record's identifier; PROCID or `[pid]` ->
///   `SYSLOG_PID`, a claim: the kernel's pid stays in `origin` (the sink writes it as `JB_PID`
///   and, as root, the sender's facts the input read from `/proc` as `OBJECT_*`);
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

    /// The record of a parsed message (`SyslogParser.parse`).
    package static func record(
        from message: SyslogMessage, origin: Origin, receivedMicros: Int64 = LogRecord.now(), droppedBytes: Int = 0
    ) -> LogRecord {
        message.raw.withUnsafeBytes { bytes in
            record(
                layout: message.layout, bytes: bytes, origin: origin, receivedMicros: receivedMicros,
                droppedBytes: droppedBytes)
        }
    }

    /// The record of the message in `bytes`, whose parts `layout` (`SyslogParser.layout(of:)`) locates.
    /// - Parameters:
    ///   - origin: the sender as the kernel knows it (the input's job); its identifier is the
    ///     fallback when the message names no program.
    ///   - receivedMicros: when it arrived: the record's time unless an RFC 3339 timestamp says.
    ///   - droppedBytes: bytes cut from the message (a frame or datagram over the limit); the
    ///     message then ends with a visible `…[truncated N bytes]`.
    ///   - missingBytes: bytes an octet count promised that never came (the connection closed
    ///     first): the message ends with `…[N bytes never sent]` and `JB_SYSLOG_ERROR` says why.
    ///   - peer: the network peer's address, as `JB_SYSLOG_PEER` (nil for a Unix sender).
    package static func record(
        layout: SyslogMessage.Layout, bytes: UnsafeRawBufferPointer, origin: Origin, receivedMicros: Int64,
        droppedBytes: Int, missingBytes: Int = 0, peer: String? = nil
    ) -> LogRecord {
        func part(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[range]) }
        var origin = origin
        if let appName = layout.appName { origin.identifier = String(decoding: part(appName), as: UTF8.self) }
        var record = LogRecord(
            level: layout.priority.level, timestampMicros: layout.timestampMicros ?? receivedMicros, label: label,
            message: "", origin: origin
        )
        if droppedBytes > 0 || missingBytes > 0 {
            var marked = Array(part(layout.message))
            if droppedBytes > 0 { marked += Array("…[truncated \(droppedBytes) bytes]".utf8) }
            if missingBytes > 0 { marked += Array("…[\(missingBytes) bytes never sent]".utf8) }
            marked.withUnsafeBytes { record.setMessage(bytes: $0) }
        } else {
            record.setMessage(bytes: part(layout.message))
        }
        for element in layout.structuredData {
            for parameter in element.parameters {
                parameter.value.withUnsafeBytes { record.metadata.append(field(element.id + "." + parameter.name, $0)) }
            }
        }
        // At most 10 fields: reserved at once, one allocation.
        var fields: [MetadataField] = []
        fields.reserveCapacity(10)
        fields.append(MetadataField(Field.priority, decimal[Int(layout.priority.severity)]))
        fields.append(MetadataField(Field.facility, decimal[Int(layout.priority.facility)]))
        if let appName = layout.appName { fields.append(field(Field.identifier, part(appName))) }
        if let procID = layout.procID { fields.append(field(Field.pid, part(procID))) }
        if let msgID = layout.msgID { fields.append(field(Field.msgID, part(msgID))) }
        if let timestamp = layout.timestamp { fields.append(field(Field.timestamp, part(timestamp))) }
        if let hostname = layout.hostname { fields.append(field(Field.hostname, part(hostname))) }
        if let failure = layout.failure {
            fields.append(field(Field.raw, bytes))
            fields.append(MetadataField(Field.error, failure.description))
        } else if missingBytes > 0 {
            fields.append(
                MetadataField(
                    Field.error,
                    "octet-counted frame cut short: the connection ended \(missingBytes) bytes before the frame did (closed by the client, or at the collector's stop)"
                ))
        }
        if let peer, !peer.isEmpty { fields.append(MetadataField(SyslogRecords.peerField, peer)) }
        record.syslogFields = fields
        return record
    }

    /// "0" to "23", every severity and facility: looked up, not formatted, per message.
    private static let decimal = (0..<24).map { String($0) }

    private static func field(_ key: String, _ bytes: UnsafeRawBufferPointer) -> MetadataField {
        var item = MetadataField(key, "")
        item.setValue(bytes: bytes)
        return item
    }
}
