import Logging

/// Merges metadata the way swift-log's `StreamLogHandler.prepareMetadata` does:
/// the handler's, then the provider's, then the call's (later wins), plus the
/// error's message and type; flattened for the sinks.
package enum MetadataMerge {
    @inlinable
    package static func merged(
        base: Logger.Metadata, provider: Logger.MetadataProvider?, explicit: Logger.Metadata?, error: (any Error)?
    ) -> [MetadataField] {
        merged(base: base, provided: provider?.get() ?? [:], explicit: explicit, error: error)
    }

    /// The same, with the provider's values already read (they come from the caller's context).
    @inlinable
    package static func merged(
        base: Logger.Metadata, provided: Logger.Metadata, explicit: Logger.Metadata?, error: (any Error)?
    ) -> [MetadataField] {
        // The common cases touch one dictionary only: no merge, no hashing.
        if provided.isEmpty && error == nil {
            guard let explicit, !explicit.isEmpty else { return base.isEmpty ? [] : base.flattened() }
            if base.isEmpty { return explicit.flattened() }
        }
        var metadata = base
        if !provided.isEmpty { metadata.merge(provided) { _, new in new } }
        if let explicit, !explicit.isEmpty { metadata.merge(explicit) { _, new in new } }
        if let error {
            metadata["error.message"] = "\(error)"
            metadata["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        return metadata.flattened()
    }
}

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
