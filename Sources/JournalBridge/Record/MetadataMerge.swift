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
