import Logging

/// Reassembles frames from a byte stream and checks every limit of the protocol
/// before trusting a length. One decoder per connection.
package struct FrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var readIndex = 0
    package let maxFrameBytes: Int

    package init(maxFrameBytes: Int = WireProtocol.maxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes received but not yet part of a whole frame (a truncated frame, at disconnect).
    package var bufferedByteCount: Int { buffer.count - readIndex }

    /// The whole size (length prefix included) of the frame being waited for, once its
    /// 4-byte header is in; nil while fewer than 4 bytes are buffered. Valid after
    /// `nextFrame()` returned nil (which checked the length against the limits): the
    /// collector reserves this much of its memory budget before it reads the body.
    package var pendingFrameBytes: Int? {
        guard buffer.count - readIndex >= 4 else { return nil }
        let length = buffer.withUnsafeBufferPointer { p in
            Int(p[readIndex]) << 24 | Int(p[readIndex + 1]) << 16 | Int(p[readIndex + 2]) << 8 | Int(p[readIndex + 3])
        }
        return 4 + length
    }

    /// Makes room for `bytes` buffered bytes at once, so a large frame's body grows the
    /// buffer once to its declared size instead of doubling past it.
    package mutating func reserveCapacity(_ bytes: Int) {
        if readIndex > 0 { compact() }
        buffer.reserveCapacity(bytes)
    }

    package mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    /// The next whole frame, nil when more bytes are needed.
    package mutating func nextFrame() throws(WireError) -> Frame? {
        let available = buffer.count - readIndex
        guard available >= 4 else {
            compact()
            return nil
        }
        let length = buffer.withUnsafeBufferPointer { p in
            UInt32(p[readIndex]) << 24 | UInt32(p[readIndex + 1]) << 16 | UInt32(p[readIndex + 2]) << 8
                | UInt32(p[readIndex + 3])
        }
        if length == 0 { throw WireError(.emptyFrame) }
        if Int(length) > maxFrameBytes {
            throw WireError(.frameTooLarge, "\(length) bytes, limit \(maxFrameBytes)")
        }
        guard available >= 4 + Int(length) else {
            compact()
            return nil
        }
        let start = readIndex + 4
        let end = start + Int(length)
        let result = buffer.withUnsafeBytes { raw -> Result<Frame, WireError> in
            var reader = ByteReader(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
            do throws(WireError) { return .success(try Self.decodeBody(&reader)) } catch { return .failure(error) }
        }
        let frame = try result.get()
        readIndex = end
        return frame
    }

    /// Called when waiting for more bytes: drops what was consumed, so a connection holds
    /// at most one partial frame, and gives back memory it no longer needs: all of it once
    /// the buffer is empty, and the excess when a small tail is left in a large buffer
    /// (a thousand idle connections must not each keep the largest chunk they ever sent;
    /// the collector's memory budget counts what is buffered, so the capacity must follow).
    private mutating func compact() {
        guard readIndex > 0 else { return }
        if readIndex == buffer.count {
            buffer = []
        } else {
            let tail = buffer.count - readIndex
            if buffer.capacity > 2 * tail + 4096 {
                var smaller: [UInt8] = []
                smaller.reserveCapacity(tail)
                smaller.append(contentsOf: buffer[readIndex...])
                buffer = smaller
            } else {
                buffer.removeSubrange(..<readIndex)
            }
        }
        readIndex = 0
    }

    /// Decodes one frame body (type byte and payload), all of it.
    package static func decodeBody(_ reader: inout ByteReader) throws(WireError) -> Frame {
        let typeByte: UInt8 = try reader.integer()
        guard let type = FrameType(rawValue: typeByte) else {
            throw WireError(.unknownFrameType, "type \(typeByte)")
        }
        let frame: Frame
        switch type {
        case .hello:
            let magic = try reader.bytes(count: 4)
            guard magic.elementsEqual(WireProtocol.magic) else { throw WireError(.badMagic) }
            let version: UInt16 = try reader.integer()
            guard version == WireProtocol.version else {
                throw WireError(
                    .unsupportedVersion, "version \(version), this collector speaks \(WireProtocol.version)")
            }
            let session: UInt64 = try reader.integer()
            let identifierLength: UInt16 = try reader.integer()
            guard Int(identifierLength) <= WireProtocol.maxIdentifierBytes else {
                throw WireError(.limitExceeded, "identifier of \(identifierLength) bytes")
            }
            let identifier = String(decoding: try reader.bytes(count: Int(identifierLength)), as: UTF8.self)
            frame = .hello(Hello(version: version, session: session, identifier: identifier))
        case .welcome:
            let version: UInt16 = try reader.integer()
            frame = .welcome(version: version, acknowledged: try reader.integer())
        case .batch:
            let count: UInt32 = try reader.integer()
            guard count <= WireProtocol.maxRecordsPerBatch else {
                throw WireError(.limitExceeded, "\(count) records in one batch")
            }
            // Each record takes at least 39 bytes: a count the payload cannot hold is a lie.
            guard Int(count) * 39 <= reader.remaining else { throw WireError(.truncated, "batch of \(count)") }
            var records: [LogRecord] = []
            records.reserveCapacity(Int(count))
            for _ in 0..<count { records.append(try decodeRecord(&reader)) }
            frame = .batch(records)
        case .ack:
            frame = .ack(try reader.integer())
        case .goodbye:
            let length: UInt16 = try reader.integer()
            frame = .goodbye(reason: String(decoding: try reader.bytes(count: Int(length)), as: UTF8.self))
        }
        guard reader.remaining == 0 else { throw WireError(.trailingBytes, "\(reader.remaining) bytes") }
        return frame
    }

    static func decodeRecord(_ reader: inout ByteReader) throws(WireError) -> LogRecord {
        let levelCode: UInt8 = try reader.integer()
        guard let level = Logger.Level(ordinal: levelCode) else { throw WireError(.invalidLevel, "level \(levelCode)") }
        let timestamp = Int64(bitPattern: try reader.integer() as UInt64)
        let sequence: UInt64 = try reader.integer()
        let line: UInt32 = try reader.integer()
        let label = try reader.string(limit: WireProtocol.maxFieldBytes, what: "label")
        let messageBytes = try reader.stringBytes(limit: WireProtocol.maxFieldBytes, what: "message")
        let file = try reader.string(limit: WireProtocol.maxFieldBytes, what: "file")
        let function = try reader.string(limit: WireProtocol.maxFieldBytes, what: "function")
        let count: UInt16 = try reader.integer()
        guard count <= WireProtocol.maxMetadataPerRecord else {
            throw WireError(.limitExceeded, "\(count) metadata fields, limit \(WireProtocol.maxMetadataPerRecord)")
        }
        var metadata: [MetadataField] = []
        metadata.reserveCapacity(Int(count))
        for _ in 0..<count {
            let key = try reader.string(limit: WireProtocol.maxKeyBytes, what: "metadata key")
            var field = MetadataField(key, "")
            field.setValue(bytes: try reader.stringBytes(limit: WireProtocol.maxFieldBytes, what: "metadata value"))
            metadata.append(field)
        }
        var record = LogRecord(
            level: level, timestampMicros: timestamp, label: label, message: "", file: file,
            function: function, line: line, metadata: metadata, sequence: sequence,
            origin: Origin(pid: 0, uid: 0, gid: 0, identifier: "")
        )
        // The message and metadata values are kept byte for byte, invalid UTF-8 included (docs/protocol.md).
        record.setMessage(bytes: messageBytes)
        return record
    }
}

/// Bounds-checked big-endian reads over one frame body.
package struct ByteReader {
    private let base: UnsafeRawBufferPointer
    private var offset = 0

    package init(_ base: UnsafeRawBufferPointer) { self.base = base }

    package var remaining: Int { base.count - offset }

    @inline(__always)
    package mutating func integer<T: FixedWidthInteger>() throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw WireError(.truncated) }
        var value: T = 0
        for i in 0..<size { value = value << 8 | T(base[offset + i]) }
        offset += size
        return value
    }

    package mutating func bytes(count: Int) throws(WireError) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw WireError(.truncated) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: base[offset..<offset + count])
    }

    @inline(__always)
    package mutating func string(limit: Int, what: String) throws(WireError) -> String {
        let length: UInt32 = try integer()
        guard Int(length) <= limit else {
            throw WireError(.limitExceeded, "\(what) of \(length) bytes, limit \(limit)")
        }
        return String(decoding: try bytes(count: Int(length)), as: UTF8.self)
    }

    /// A string's bytes as sent, unchecked: for the message and metadata values, kept as bytes.
    @inline(__always)
    package mutating func stringBytes(limit: Int, what: String) throws(WireError) -> UnsafeRawBufferPointer {
        let length: UInt32 = try integer()
        guard Int(length) <= limit else {
            throw WireError(.limitExceeded, "\(what) of \(length) bytes, limit \(limit)")
        }
        return try bytes(count: Int(length))
    }
}
