import Foundation

/// Reads back what the real journald stored, with `journalctl -o json --all`.
public enum Journal {
    /// One entry: field name -> value bytes. journalctl prints binary values
    /// (NUL, invalid UTF-8, control bytes) as arrays of numbers and repeated fields as arrays of values.
    public struct Entry {
        public var fields: [String: [UInt8]]
        public var repeated: [String: [[UInt8]]]

        public subscript(_ name: String) -> String? {
            fields[name].map { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// A fresh identifier for one test, so its entries are found and no others.
    public static func uniqueIdentifier(_ prefix: String = "jbtest") -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Entries matching the journalctl arguments, waiting until at least `count` are there.
    public static func entries(
        _ arguments: [String], atLeast count: Int = 1, timeout: TimeInterval = 20
    ) throws -> [Entry] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let found = try query(arguments)
            if found.count >= count || Date() > deadline { return found }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    public static func entries(identifier: String, atLeast count: Int = 1, timeout: TimeInterval = 20) throws -> [Entry]
    {
        try entries(["-t", identifier], atLeast: count, timeout: timeout)
    }

    public static func query(_ arguments: [String]) throws -> [Entry] {
        let result = try Run.command("/usr/bin/journalctl", ["-o", "json", "--all", "--no-pager"] + arguments)
        guard result.status == 0 || result.stdout.isEmpty else {
            throw Run.Failure(description: "journalctl \(arguments) exited \(result.status): \(result.stderrText)")
        }
        return try result.stdout.split(separator: UInt8(ascii: "\n")).map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw Run.Failure(description: "journalctl printed a line that is not an object")
            }
            var entry = Entry(fields: [:], repeated: [:])
            for (key, value) in object {
                let values = decodeValues(value)
                entry.repeated[key] = values
                if let first = values.first { entry.fields[key] = first }
            }
            return entry
        }
    }

    private static func decodeValues(_ value: Any) -> [[UInt8]] {
        if let string = value as? String { return [Array(string.utf8)] }
        if let numbers = value as? [NSNumber] { return [numbers.map { $0.uint8Value }] }
        if let list = value as? [Any] { return list.flatMap(decodeValues) }
        return []
    }
}
