import Logging

extension LogRecord {
    /// The record of a swift-log event, as both handlers (bridge and direct) make it.
    /// The metadata is the caller's to give: the direct handler merges it at once, the
    /// bridge handler leaves that to its shipper's thread.
    @inlinable
    package init(event: LogEvent, label: String, origin: Origin, metadata: [MetadataField] = []) {
        self.init(
            level: event.level,
            label: label,
            message: event.message.description,
            file: event.file,
            function: event.function,
            line: UInt32(truncatingIfNeeded: event.line),
            metadata: metadata,
            origin: origin
        )
    }
}
