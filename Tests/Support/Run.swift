import Foundation

/// Real processes for end-to-end tests.
public enum Run {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public struct Result {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var pid: pid_t
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// The `journal-bridge` executable built beside the test bundle.
    public static var journalBridge: String {
        let me =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("journal-bridge").path
    }

    /// Runs `executable` to its end (`BackgroundProcess`, the one runner); `environment` is
    /// added to this process's.
    @discardableResult
    public static func command(
        _ executable: String, _ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String]? = nil
    ) throws -> Result {
        let process = try BackgroundProcess(executable, arguments, environment: environment ?? [:], input: stdin)
        let status = process.finish()
        return Result(status: status, stdout: process.stdout, stderr: process.stderr, pid: process.pid)
    }

    public static func journalBridge(_ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String]? = nil)
        throws -> Result
    {
        try command(journalBridge, arguments, stdin: stdin, environment: environment)
    }
}

/// A directory under /tmp removed when the test is done.
public final class TemporaryDirectory {
    public let path: String

    public init() throws {
        path = NSTemporaryDirectory() + "jbtest-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Lines of a text file, without their newlines; [] when it does not exist.
    public func lines(_ name: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: file(name)) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }

    public func names() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
