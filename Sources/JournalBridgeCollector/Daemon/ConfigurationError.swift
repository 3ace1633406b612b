/// A configuration the daemon cannot run with. `collect` and `check-config` print it
/// and exit with status 78 (EX_CONFIG), naming the key and the problem.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        case unreadable = "cannot read the file"
        case syntax = "syntax error"
        case unknownKey = "unknown key"
        case duplicateKey = "key set twice"
        case wrongType = "wrong type"
        case badValue = "bad value"
        case unwritable = "cannot write there"
    }

    public static let exitStatus: Int32 = 78

    public var code: Code
    public var key: String?
    public var source: String
    public var line: Int?
    public var problem: String

    public init(_ code: Code, key: String? = nil, source: String, line: Int? = nil, _ problem: String) {
        self.code = code
        self.key = key
        self.source = source
        self.line = line
        self.problem = problem
    }

    public var description: String {
        var location = source
        if let line { location += ":\(line)" }
        if let key { return "\(location): \(key): \(code.rawValue): \(problem)" }
        return "\(location): \(code.rawValue): \(problem)"
    }
}
