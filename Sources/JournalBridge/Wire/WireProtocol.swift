/// Version 1 of the journal-bridge wire protocol; `docs/protocol.md` is its specification.
package enum WireProtocol {
    package static let version: UInt16 = 1
    package static let magic: [UInt8] = Array("JBRG".utf8)

    /// Largest frame body (type byte + payload) either side accepts.
    package static let maxFrameBytes = 8 * 1024 * 1024
    /// Largest single string (message, label, metadata value, ...).
    package static let maxFieldBytes = 2 * 1024 * 1024
    /// Largest metadata key.
    package static let maxKeyBytes = 1024
    /// Metadata pairs per record: journald keeps 1024 fields an entry, the bridge sets up to 16.
    package static let maxMetadataPerRecord = 1000
    package static let maxRecordsPerBatch = 65536
    /// Largest program name in a hello.
    package static let maxIdentifierBytes = 255
    /// How far a record's sequence may lie above the highest one its session already
    /// routed (the previous records of the same batch included): small gaps (a record a
    /// shipper dropped alone) pass, a jump closes the connection.
    package static let maxSequenceGap: UInt64 = 65536

    /// The default socket, when neither an explicit path nor `JOURNAL_BRIDGE_SOCKET` names one.
    package static let defaultSocketPath = "/run/journal-bridge/journal-bridge.sock"
    package static let socketEnvironmentVariable = "JOURNAL_BRIDGE_SOCKET"
}

package enum FrameType: UInt8, Sendable {
    case hello = 1
    case welcome = 2
    case batch = 3
    case ack = 4
    case goodbye = 5
}

/// What a peer sent that breaks the protocol. The connection that sent it is closed.
package struct WireError: Error, CustomStringConvertible, Sendable, Equatable {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        // A struct over a private enum, as swift-service-lifecycle's `ServiceGroupError.Code`:
        // adding a code does not break a caller's exhaustive switch.
        private enum Kind: String, Sendable {
            case emptyFrame = "zero-length frame"
            case frameTooLarge = "frame too large"
            case unknownFrameType = "unknown frame type"
            case badMagic = "not a journal-bridge hello"
            case unsupportedVersion = "unsupported protocol version"
            case truncated = "frame shorter than its contents"
            case trailingBytes = "bytes after the frame's contents"
            case limitExceeded = "limit exceeded"
            case invalidLevel = "invalid level"
            case unexpectedFrame = "unexpected frame"
            case invalidSession = "invalid session"
            case invalidSequence = "invalid sequence"
        }

        private let kind: Kind

        private init(_ kind: Kind) { self.kind = kind }

        /// Zero-length frame.
        package static let emptyFrame = Code(.emptyFrame)
        /// Frame too large.
        package static let frameTooLarge = Code(.frameTooLarge)
        /// Unknown frame type.
        package static let unknownFrameType = Code(.unknownFrameType)
        /// Not a journal-bridge hello.
        package static let badMagic = Code(.badMagic)
        /// Unsupported protocol version.
        package static let unsupportedVersion = Code(.unsupportedVersion)
        /// Frame shorter than its contents.
        package static let truncated = Code(.truncated)
        /// Bytes after the frame's contents.
        package static let trailingBytes = Code(.trailingBytes)
        /// Limit exceeded.
        package static let limitExceeded = Code(.limitExceeded)
        /// Invalid level.
        package static let invalidLevel = Code(.invalidLevel)
        /// Unexpected frame.
        package static let unexpectedFrame = Code(.unexpectedFrame)
        /// Invalid session.
        package static let invalidSession = Code(.invalidSession)
        /// Invalid sequence.
        package static let invalidSequence = Code(.invalidSequence)

        /// The code in words, as printed before the details.
        package var description: String { kind.rawValue }
    }

    package var code: Code
    package var detail: String

    package init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    package var description: String { detail.isEmpty ? code.description : "\(code.description): \(detail)" }
}

package struct Hello: Sendable, Equatable {
    package var version: UInt16
    /// Random per shipper, kept across reconnects so a collector can recognise resent records.
    package var session: UInt64
    package var identifier: String

    package init(version: UInt16 = WireProtocol.version, session: UInt64, identifier: String) {
        self.version = version
        self.session = session
        self.identifier = identifier
    }
}

package enum Frame: Sendable, Equatable {
    case hello(Hello)
    /// The collector's answer: its version and the highest sequence it already holds for this session.
    case welcome(version: UInt16, acknowledged: UInt64)
    case batch([LogRecord])
    /// Cumulative: every record up to and including this sequence number is stored.
    case ack(UInt64)
    case goodbye(reason: String)
}
