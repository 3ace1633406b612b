import Logging

/// The worker side: a swift-log handler that hands each record to the process's
/// `RecordShipper`, which ships it to the collector. Cheap to copy; `log` does no I/O
/// and leaves flattening the metadata to the shipper's thread.
///
///     let shipper = RecordShipper(configuration: ShipperConfiguration(identifier: "my-app"))
///     LoggingSystem.bootstrap { BridgeLogHandler(label: $0, shipper: shipper) }
public struct BridgeLogHandler: LogHandler {
    public let label: String
    public let shipper: RecordShipper
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .debug

    public init(label: String, shipper: RecordShipper, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.shipper = shipper
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var record = LogRecord(event: event, label: label, origin: .unattributed)
        let provided = metadataProvider?.get() ?? [:]
        guard provided.isEmpty, event.error == nil else {
            // Provider values come from the caller's context (task-locals), an error may not
            // outlive the call: merge here.
            record.metadata = MetadataMerge.merged(base: metadata, provided: provided, explicit: event.metadata, error: event.error)
            return shipper.enqueue(record)
        }
        // The common case: the shipper's thread flattens the dictionaries.
        shipper.enqueue(record, handlerMetadata: metadata, explicit: event.metadata)
    }
}
