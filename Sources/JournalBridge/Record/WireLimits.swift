/// The wire protocol's limits (`WireProtocol`), applied on the sending side: whatever a caller
/// passes through swift-log becomes a record the collector accepts, cut where it must be and
/// saying so in its own text. The shipper (socket mode) and the direct handler and `send
/// --direct` (direct mode) apply the same function, so both modes keep the same bytes.
extension LogRecord {
    /// Key of the metadata field a clamped record carries when it had more metadata entries than
    /// the protocol allows: its value is how many entries were dropped (the last ones in key order).
    package static let droppedMetadataKey = "metadata.dropped"

    /// The largest record one batch frame can hold: the frame's type byte and the batch's count
    /// take 5 of the frame's bytes.
    package static let maxWireBytes = WireProtocol.maxFrameBytes - 5

    /// The record's encoded size (`FrameEncoder.encodedSize`) when every string, the metadata
    /// count and the whole are within the protocol's limits; nil when it must be clamped.
    /// One walk over the metadata, as the size alone would need.
    package var encodedSizeWithinWireLimits: Int? {
        guard metadata.count <= WireProtocol.maxMetadataPerRecord else { return nil }
        let limit = WireProtocol.maxFieldBytes
        let strings = (label.utf8.count, messageByteCount, file.utf8.count, function.utf8.count)
        guard strings.0 <= limit, strings.1 <= limit, strings.2 <= limit, strings.3 <= limit else { return nil }
        var size = FrameEncoder.recordHeaderBytes + strings.0 + strings.1 + strings.2 + strings.3
        for field in metadata {
            let key = field.key.utf8.count
            let value = field.valueByteCount
            guard key <= WireProtocol.maxKeyBytes, value <= limit else { return nil }
            size += 8 + key + value
        }
        return size <= Self.maxWireBytes ? size : nil
    }

    /// A copy within every limit of the protocol; the record itself when it already is.
    ///
    /// - More than `maxMetadataPerRecord` metadata entries: the first `maxMetadataPerRecord - 1`
    ///   are kept and a last one, `metadata.dropped`, says how many were dropped.
    /// - A key over `maxKeyBytes`, a message or any other string over `maxFieldBytes`: cut.
    /// - Then, if the record still would not fit one frame, the label, file, function and metadata
    ///   values share what the message and keys leave: the longest are cut to a common length,
    ///   the shorter ones kept whole. The message (up to `maxFieldBytes`) is never cut for them.
    ///
    /// Every cut string ends with `…[truncated N bytes]`, N the exact number of bytes of the
    /// original that are not there; a cut falls between characters, never inside one.
    package func clampedToWireLimits() -> LogRecord {
        if encodedSizeWithinWireLimits != nil { return self }
        var copy = self
        let maxFields = WireProtocol.maxMetadataPerRecord
        if metadata.count > maxFields {
            let kept = max(0, maxFields - 1)
            copy.metadata = Array(metadata.prefix(kept))
            copy.metadata.append(MetadataField(Self.droppedMetadataKey, String(metadata.count - kept)))
        }
        if let raw = messageBytes {
            // Bytes kept as received stay bytes when cut.
            if raw.count > WireProtocol.maxFieldBytes {
                let cut = raw.withUnsafeBytes { WireLimits.truncated($0, toBytes: WireProtocol.maxFieldBytes) }
                cut.withUnsafeBytes { copy.setMessage(bytes: $0) }
            }
        } else {
            copy.message = WireLimits.truncated(message, toBytes: WireProtocol.maxFieldBytes)
        }
        var fixed = FrameEncoder.recordHeaderBytes + copy.messageByteCount
        for index in copy.metadata.indices {
            copy.metadata[index].key = WireLimits.truncated(copy.metadata[index].key, toBytes: WireProtocol.maxKeyBytes)
            fixed += 8 + copy.metadata[index].key.utf8.count
        }
        // What is left of the frame for the label, file, function and values.
        let budget = Self.maxWireBytes - fixed
        var lengths = [label.utf8.count, file.utf8.count, function.utf8.count]
        lengths.reserveCapacity(3 + copy.metadata.count)
        for field in copy.metadata { lengths.append(field.valueByteCount) }
        let limit = min(
            WireProtocol.maxFieldBytes,
            WireLimits.commonCut(lengths.map { min($0, WireProtocol.maxFieldBytes) }, budget: budget))
        copy.label = WireLimits.truncated(label, toBytes: limit)
        copy.file = WireLimits.truncated(file, toBytes: limit)
        copy.function = WireLimits.truncated(function, toBytes: limit)
        for index in copy.metadata.indices {
            if let raw = copy.metadata[index].valueBytes {
                guard raw.count > limit else { continue }
                let cut = raw.withUnsafeBytes { WireLimits.truncated($0, toBytes: limit) }
                cut.withUnsafeBytes { copy.metadata[index].setValue(bytes: $0) }
            } else {
                copy.metadata[index].value = WireLimits.truncated(copy.metadata[index].value, toBytes: limit)
            }
        }
        return copy
    }
}

/// The cutting rules behind `LogRecord.clampedToWireLimits`.
package enum WireLimits {
    /// `text` when it has at most `limit` bytes of UTF-8; else its longest prefix that ends
    /// between two characters and leaves room for the note `…[truncated N bytes]`, N being
    /// exactly how many bytes of `text` the result lacks. (A limit too small for any note
    /// gives the bare prefix; the protocol's limits are never that small.)
    package static func truncated(_ text: String, toBytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var text = text
        return text.withUTF8 { String(decoding: truncated(UnsafeRawBufferPointer($0), toBytes: limit), as: UTF8.self) }
    }

    /// The same cut for bytes that need not be UTF-8 (a message or value kept as received): the
    /// cut still avoids splitting a sequence, and the note counts bytes of the original.
    /// `total`: the original's length when `bytes` is only its first `limit + 1` bytes or more
    /// (a reader that did not keep the rest: `journal-bridge send -`).
    package static func truncated(_ bytes: UnsafeRawBufferPointer, total: Int? = nil, toBytes limit: Int) -> [UInt8] {
        let total = max(total ?? bytes.count, bytes.count)
        guard total > limit else { return Array(bytes) }
        /// The longest prefix of at most `count` bytes that does not split a character.
        func boundary(atMost count: Int) -> Int {
            var end = max(0, min(count, bytes.count))
            while end > 0 && end < bytes.count && bytes[end] & 0xC0 == 0x80 { end -= 1 }
            return end
        }
        var noteBytes = 0
        // The note's length depends on N, which depends on where the cut falls: grows at most twice.
        while noteBytes <= limit {
            let end = boundary(atMost: limit - noteBytes)
            let note = "…[truncated \(total - end) bytes]"
            if end + note.utf8.count <= limit { return Array(bytes[..<end]) + Array(note.utf8) }
            noteBytes = note.utf8.count
        }
        return Array(bytes[..<boundary(atMost: limit)])
    }

    /// The largest length L such that cutting every length over L down to L makes them sum to at
    /// most `budget` (`Int.max` when they already do): the longest strings give way first.
    package static func commonCut(_ lengths: [Int], budget: Int) -> Int {
        var remaining = budget
        var total = 0
        for length in lengths { total += length }
        guard total > budget else { return Int.max }
        let sorted = lengths.sorted()
        for (index, length) in sorted.enumerated() {
            let left = sorted.count - index
            if length * left > remaining { return max(0, remaining / left) }
            remaining -= length
        }
        return Int.max
    }
}
