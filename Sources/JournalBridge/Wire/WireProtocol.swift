/// Version 1 of the journal-bridge wire protocol; `docs/protocol.md` is its specification.
public enum WireProtocol {
    public static let version: UInt16 = 1
    public static let magic: [UInt8] = Array("JBRG".utf8)

    /// Largest frame body (type byte + payload) either side accepts.
    public static let maxFrameBytes = 8 * 1024 * 1024
    /// Largest single string (message, label, metadata value, ...).
    public static let maxFieldBytes = 2 * 1024 * 1024
    /// Largest metadata key.
    public static let maxKeyBytes = 1024
    /// Metadata pairs per record: journald keeps 1024 fields an entry, the bridge sets up to 16.
    public static let maxMetadataPerRecord = 1000
    public static let maxRecordsPerBatch = 65536
    /// Largest program name in a hello.
    public static let maxIdentifierBytes = 255
    /// How far a record's sequence may lie above the highest one its session already
    /// routed (the previous records of the same batch included): small gaps (a record a
    /// shipper dropped alone) pass, a jump closes the connection.
    public static let maxSequenceGap: UInt64 = 65536

    /// The default socket, when neither an explicit path nor `JOURNAL_BRIDGE_SOCKET` names one.
    public static let defaultSocketPath = "/run/journal-bridge/journal-bridge.sock"
    public static let socketEnvironmentVariable = "JOURNAL_BRIDGE_SOCKET"
}

public enum FrameType: UInt8, Sendable {
    case hello = 1
    case welcome = 2
    case batch = 3
    case ack = 4
    case goodbye = 5
}

/// What a peer sent that breaks the protocol. The connection that sent it is closed.
public struct WireError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
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

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    public var description: String { detail.isEmpty ? code.rawValue : "\(code.rawValue): \(detail)" }
}

public struct Hello: Sendable, Equatable {
    public var version: UInt16
    /// Random per shipper, kept across reconnects so a collector can recognise resent records.
    public var session: UInt64
    public var identifier: String

    public init(version: UInt16 = WireProtocol.version, session: UInt64, identifier: String) {
        self.version = version
        self.session = session
        self.identifier = identifier
    }
}

public enum Frame: Sendable, Equatable {
    case hello(Hello)
    /// The collector's answer: its version and the highest sequence it already holds for this session.
    case welcome(version: UInt16, acknowledged: UInt64)
    case batch([LogRecord])
    /// Cumulative: every record up to and including this sequence number is stored.
    case ack(UInt64)
    case goodbye(reason: String)
}
