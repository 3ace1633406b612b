/// Appends frames to a byte buffer. Callers keep one and reuse its storage.
package struct FrameEncoder: Sendable {
    package private(set) var bytes: [UInt8] = []

    package init(capacity: Int = 64 * 1024) {
        bytes.reserveCapacity(capacity)
    }

    package mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    package mutating func encode(_ frame: Frame) {
        switch frame {
        case .hello(let hello):
            let start = beginFrame(.hello)
            bytes.append(contentsOf: WireProtocol.magic)
            appendInteger(hello.version)
            appendInteger(hello.session)
            appendShortString(hello.identifier, limit: WireProtocol.maxIdentifierBytes)
            endFrame(start)
        case .welcome(let version, let acknowledged):
            let start = beginFrame(.welcome)
            appendInteger(version)
            appendInteger(acknowledged)
            endFrame(start)
        case .batch(let records):
            let start = beginBatch()
            for record in records { appendRecord(record) }
            endBatch(start, count: records.count)
        case .ack(let sequence):
            let start = beginFrame(.ack)
            appendInteger(sequence)
            endFrame(start)
        case .goodbye(let reason):
            let start = beginFrame(.goodbye)
            appendShortString(reason, limit: 1024)
            endFrame(start)
        }
    }

    // MARK: batches built record by record (the shipper's hot path)

    /// Opens a batch frame; returns its start for `endBatch`.
    package mutating func beginBatch() -> Int {
        let start = beginFrame(.batch)
        appendInteger(UInt32(0))  // count, patched by endBatch
        return start
    }

    package mutating func endBatch(_ start: Int, count: Int) {
        patch(UInt32(clamping: count), at: start + 5)
        endFrame(start)
    }

    /// Bytes of a record besides its strings: level, timestamp, sequence, line, four string
    /// lengths and the metadata count.
    package static let recordHeaderBytes = 1 + 8 + 8 + 4 + 4 * 4 + 2

    /// Size a record takes on the wire, for keeping frames under the limit.
    package static func encodedSize(of record: LogRecord) -> Int {
        var size = recordHeaderBytes
        size += record.label.utf8.count + record.messageByteCount + record.file.utf8.count + record.function.utf8.count
        for field in record.metadata.prefix(Int(UInt16.max)) { size += 8 + field.key.utf8.count + field.valueByteCount }
        return size
    }

    /// Appends the record as it is: the protocol's limits are `LogRecord.clampedToWireLimits`'s
    /// business (tests need over-limit records on the wire). What no length field can represent
    /// is cut, never trapped on: metadata past 65,535 entries, a string past 4 GiB.
    package mutating func appendRecord(_ record: LogRecord) {
        bytes.append(record.level.ordinal)
        appendInteger(UInt64(bitPattern: record.timestampMicros))
        appendInteger(record.sequence)
        appendInteger(record.line)
        appendString(record.label)
        if let raw = record.messageBytes {
            appendBytes(raw)  // not valid UTF-8: sent as received (so are metadata values)
        } else {
            appendString(record.message)
        }
        appendString(record.file)
        appendString(record.function)
        let count = UInt16(clamping: record.metadata.count)
        appendInteger(count)
        for field in record.metadata.prefix(Int(count)) {
            appendString(field.key)
            if let raw = field.valueBytes { appendBytes(raw) } else { appendString(field.value) }
        }
    }

    // MARK: primitives

    private mutating func beginFrame(_ type: FrameType) -> Int {
        let start = bytes.count
        appendInteger(UInt32(0))  // length, patched by endFrame
        bytes.append(type.rawValue)
        return start
    }

    private mutating func endFrame(_ start: Int) {
        // Clamped, not trapped on: a frame this large is refused by its reader anyway.
        patch(UInt32(clamping: bytes.count - start - 4), at: start)
    }

    private mutating func patch(_ value: UInt32, at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: value >> 24)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: value)
    }

    @inline(__always)
    private mutating func appendInteger<T: FixedWidthInteger>(_ value: T) {
        var big = value.bigEndian
        withUnsafeBytes(of: &big) { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    private mutating func appendString(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            let count = UInt32(clamping: utf8.count)
            appendInteger(count)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8.prefix(Int(count))))
        }
    }

    private mutating func appendBytes(_ raw: [UInt8]) {
        appendInteger(UInt32(raw.count))
        bytes.append(contentsOf: raw)
    }

    private mutating func appendShortString(_ string: String, limit: Int) {
        let utf8 = Array(string.utf8.prefix(limit))
        appendInteger(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }
}
