import Logging

/// The worker side: a swift-log handler that hands each record to the process's
/// `RecordShipper`, which ships it to the collector. Cheap to copy; `log` does no I/O
/// and leaves flattening the metadata to the shipper's thread.
///
///     let shipper = RecordShipper(configuration: ShipperConfiguration(identifier: "my-app"))
///     LoggingSystem.bootstrap { BridgeLogHandler(label: $0, shipper: shipper) }
public struct BridgeLogHandler: LogHandler {
    /// The logger's label, carried by every record (`LOGGER_LABEL`).
    public let label: String
    /// The process's shipper, shared by every handler.
    public let shipper: RecordShipper
    /// The logger's own metadata, merged under the call's.
    public var metadata: Logger.Metadata = [:]
    /// Metadata read from the caller's context at each `log` call.
    public var metadataProvider: Logger.MetadataProvider?
    /// The lowest level this handler ships; `.debug` unless set, so a `trace` call is shipped only from a logger set to `.trace`.
    public var logLevel: Logger.Level = .debug

    /// A handler for the logger `label` that ships through `shipper`.
    public init(
        label: String, shipper: RecordShipper,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        self.label = label
        self.shipper = shipper
        self.metadataProvider = metadataProvider
    }

    /// The logger's metadata value for `key`.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Hands the record to the shipper: no I/O, no throwing; waits only as the shipper's overflow policy says.
    public func log(event: LogEvent) {
        var record = LogRecord(event: event, label: label, origin: .unattributed)
        let provided = metadataProvider?.get() ?? [:]
        guard provided.isEmpty, event.error == nil else {
            // Provider values come from the caller's context (task-locals), an error may not
            // outlive the call: merge here.
            record.metadata = MetadataMerge.merged(
                base: metadata, provided: provided, explicit: event.metadata, error: event.error)
            return shipper.enqueue(record)
        }
        // The common case: the shipper's thread flattens the dictionaries.
        shipper.enqueue(record, handlerMetadata: metadata, explicit: event.metadata)
    }
}
