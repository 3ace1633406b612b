/// Splits a syslog byte stream (Unix stream socket, TCP) into messages, RFC 6587 both ways,
/// told apart at the start of each frame as rsyslog's imtcp/imptcp do:
/// - a digit starts octet-counting, `MSG-LEN SP MSG`: exactly MSG-LEN bytes follow;
/// - anything else starts non-transparent framing: the message runs to a LF, or to a NUL
///   (Python's SysLogHandler on a stream socket sends `<PRI>msg\0` and nothing else).
/// A count that is not digits then a space (`2023-01-01 ...`, or more than 10 digits) is no
/// count: those bytes start a non-transparent frame instead, and `countFallbacks` says so. So
/// is a count past `maximumFrameBytes` (rsyslog's `MaxFrameSize`, and its answer): taken at its
/// word, `9999999999 ` would make everything the client sends after it one message, stored
/// only when the connection closes.
/// Empty frames (a LF or NUL between frames, as some octet-counting senders add) are skipped.
///
/// Bounded: at most `maximumMessageBytes` are kept for a frame. A longer message is cut there;
/// the rest is skipped as it arrives (never buffered) and the frame is emitted when its end is
/// seen, with the count of bytes dropped for the record's marker (`droppedBytes`).
///
/// No copy in the common case: a frame that lies whole in the bytes just read is handed out
/// where it lies (`FrameView`); only one split across reads is gathered in the framer's buffer.
package struct SyslogFramer: Sendable {
    package enum Framing: String, Sendable {
        case octetCounting = "octet-counting"
        case nonTransparent = "non-transparent"
    }

    package struct Frame: Sendable, Equatable {
        /// The message's bytes as received, cut to `maximumMessageBytes`.
        package var bytes: [UInt8]
        package var framing: Framing
        /// Bytes of this message that were not kept (0 unless it was cut).
        package var droppedBytes: Int
        /// The stream ended inside this frame (`finish`): it is what arrived.
        package var unterminated: Bool
        /// Of an octet-counted frame the stream ended inside, the bytes its count promised that never came.
        package var missingBytes = 0
    }

    /// A frame as `appendViews` hands it out: `bytes` are valid only during the call.
    package struct FrameView {
        /// The message's bytes as received, cut to `maximumMessageBytes`.
        package var bytes: UnsafeRawBufferPointer
        package var framing: Framing
        /// Bytes of this message that were not kept (0 unless it was cut).
        package var droppedBytes: Int
        /// The stream ended inside this frame (`finish`): it is what arrived.
        package var unterminated: Bool
        /// Of an octet-counted frame the stream ended inside, the bytes its count promised that never came.
        package var missingBytes = 0
    }

    private enum State: Sendable {
        case frameStart
        /// Digits of a MSG-LEN so far (they are also in `buffer`, in case they are no count).
        case count(Int)
        /// Inside an octet-counted frame: bytes still to come, and how many of them are dropped.
        case octets(remaining: Int, dropped: Int)
        /// Inside a non-transparent frame; `dropped` counts bytes past the limit.
        case line(dropped: Int)
    }

    /// RFC 6587 leaves the limit to the receiver; rsyslog's default is 8 KiB, ours 64 KiB.
    package static let defaultMaximumMessageBytes = 64 * 1024
    /// The largest octet count taken as one, unless the message limit is larger: rsyslog's
    /// `MaxFrameSize` default. A frame between the two is cut to the message limit.
    package static let defaultMaximumFrameBytes = 200_000

    package let maximumMessageBytes: Int
    /// Octet counts above this are no counts (`countFallbacks`).
    package let maximumFrameBytes: Int
    private var state = State.frameStart
    private var buffer: [UInt8] = []
    private var framing = Framing.nonTransparent

    /// Frames cut to the limit.
    package private(set) var cutFrames = 0
    /// Bytes dropped from cut frames.
    package private(set) var droppedBytes = 0
    /// Frames that started with digits which were no octet count.
    package private(set) var countFallbacks = 0
    /// Empty frames skipped.
    package private(set) var emptyFrames = 0

    package init(maximumMessageBytes: Int = SyslogFramer.defaultMaximumMessageBytes) {
        self.maximumMessageBytes = max(1, maximumMessageBytes)
        self.maximumFrameBytes = max(self.maximumMessageBytes, Self.defaultMaximumFrameBytes)
    }

    /// Bytes held for an unfinished frame: never more than `maximumMessageBytes`.
    package var bufferedByteCount: Int { buffer.count }

    package mutating func append(_ bytes: [UInt8], _ emit: (Frame) -> Void) {
        bytes.withUnsafeBytes { append($0, emit) }
    }

    /// Feeds bytes as they arrive; `emit` is called for each frame completed by them, in order,
    /// with its own copy of the frame's bytes.
    package mutating func append(_ bytes: UnsafeRawBufferPointer, _ emit: (Frame) -> Void) {
        appendViews(bytes) { emit(Frame($0)) }
    }

    /// The stream ended: what is left of an unfinished frame is a message too (never dropped).
    package mutating func finish(_ emit: (Frame) -> Void) {
        finishViews { emit(Frame($0)) }
    }

    /// Feeds bytes as they arrive; `emit` is called for each frame completed by them, in order.
    /// A frame's bytes are valid during the call only: in `bytes` itself when the frame lies
    /// there whole, else in the framer's buffer.
    package mutating func appendViews(_ bytes: UnsafeRawBufferPointer, _ emit: (FrameView) -> Void) {
        var index = 0
        while index < bytes.count {
            switch state {
            case .frameStart:
                let byte = bytes[index]
                if byte == UInt8(ascii: "\n") || byte == 0 || byte == UInt8(ascii: "\r") {
                    emptyFrames += 1
                    index += 1
                } else if byte >= UInt8(ascii: "1") && byte <= UInt8(ascii: "9") {
                    state = .count(0)
                } else {
                    framing = .nonTransparent
                    state = .line(dropped: 0)
                }
            case .count(let value):
                let byte = bytes[index]
                if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") && buffer.count < 10 {
                    buffer.append(byte)
                    state = .count(value * 10 + Int(byte - UInt8(ascii: "0")))
                    index += 1
                } else if byte == UInt8(ascii: " ") && value > 0 && value <= maximumFrameBytes {
                    index += 1
                    buffer.removeAll(keepingCapacity: true)
                    framing = .octetCounting
                    state = .octets(remaining: value, dropped: 0)
                } else {
                    // Not a count: the digits are the start of a non-transparent frame.
                    countFallbacks += 1
                    framing = .nonTransparent
                    state = .line(dropped: 0)
                }
            case .octets(let remaining, let dropped)
            where buffer.isEmpty && dropped == 0 && remaining <= bytes.count - index
                && remaining <= maximumMessageBytes:
                // The whole frame is in `bytes`: handed out where it lies.
                index += remaining
                emitView(UnsafeRawBufferPointer(rebasing: bytes[index - remaining..<index]), emit)
            case .octets(let remaining, let dropped):
                let keep = min(remaining, bytes.count - index, max(0, maximumMessageBytes - buffer.count))
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<index + keep]))
                let skip = min(remaining - keep, bytes.count - index - keep)
                index += keep + skip
                let left = remaining - keep - skip
                if left == 0 {
                    finishFrame(dropped: dropped + skip, unterminated: false, emit)
                } else {
                    state = .octets(remaining: left, dropped: dropped + skip)
                }
            case .line(let dropped):
                let rest = UnsafeRawBufferPointer(rebasing: bytes[index...])
                let end = Self.lineEnd(rest)
                if buffer.isEmpty && dropped == 0 && end < rest.count && end <= maximumMessageBytes {
                    // The whole line is in `bytes`: handed out where it lies.
                    index += end + 1
                    emitView(UnsafeRawBufferPointer(rebasing: rest[0..<end]), emit)
                    continue
                }
                let keep = min(end, max(0, maximumMessageBytes - buffer.count))
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[0..<keep]))
                let nowDropped = dropped + (end - keep)
                if end < rest.count {
                    index += end + 1
                    finishFrame(dropped: nowDropped, unterminated: false, emit)
                } else {
                    index = bytes.count
                    state = .line(dropped: nowDropped)
                }
            }
        }
    }

    /// Where the first LF or NUL in `bytes` is, or `bytes.count`: eight bytes at a time
    /// (`ByteWord`), then the byte itself.
    package static func lineEnd(_ bytes: UnsafeRawBufferPointer) -> Int {
        var index = 0
        while index + 8 <= bytes.count {
            let word = ByteWord(bytes.baseAddress! + index)
            if word.contains(UInt8(ascii: "\n")) || word.contains(0) { break }
            index += 8
        }
        while index < bytes.count, bytes[index] != UInt8(ascii: "\n"), bytes[index] != 0 { index += 1 }
        return index
    }

    /// The stream ended: what is left of an unfinished frame is a message too (never dropped).
    package mutating func finishViews(_ emit: (FrameView) -> Void) {
        switch state {
        case .frameStart:
            return
        case .count:
            countFallbacks += 1
            framing = .nonTransparent
            finishFrame(dropped: 0, unterminated: true, emit)
        case .octets(let remaining, let dropped):
            // What never came is not counted as dropped: the frame says how much is missing.
            finishFrame(dropped: dropped, unterminated: true, missing: remaining, emit)
        case .line(let dropped):
            finishFrame(dropped: dropped, unterminated: true, emit)
        }
    }

    /// A frame that lay whole in the bytes read: neither cut nor unterminated.
    private mutating func emitView(_ bytes: UnsafeRawBufferPointer, _ emit: (FrameView) -> Void) {
        state = .frameStart
        if bytes.isEmpty {
            emptyFrames += 1
            return
        }
        emit(FrameView(bytes: bytes, framing: framing, droppedBytes: 0, unterminated: false))
    }

    private mutating func finishFrame(
        dropped: Int, unterminated: Bool, missing: Int = 0, _ emit: (FrameView) -> Void
    ) {
        state = .frameStart
        if dropped > 0 {
            cutFrames += 1
            droppedBytes += dropped
        }
        if buffer.isEmpty && dropped == 0 && missing == 0 {
            emptyFrames += 1
            return
        }
        buffer.withUnsafeBytes { kept in
            emit(
                FrameView(
                    bytes: kept, framing: framing, droppedBytes: dropped, unterminated: unterminated,
                    missingBytes: missing))
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

extension SyslogFramer.Frame {
    /// A copy of the frame `view` shows.
    init(_ view: SyslogFramer.FrameView) {
        self.init(
            bytes: Array(view.bytes), framing: view.framing, droppedBytes: view.droppedBytes,
            unterminated: view.unterminated, missingBytes: view.missingBytes)
    }
}
