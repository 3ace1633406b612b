import Foundation

/// A rotating log file and its rotated copies (`name`, `name.1`, `name.2`, ...) as
/// `RotatingFileSink` leaves them: the one reader the tests use for "a file and its backups".
public struct RotatedFiles {
    public let directory: String
    public let name: String

    public init(directory: String, name: String) {
        self.directory = directory
        self.name = name
    }

    /// The files there are, oldest first: `name.N`, ..., `name.1`, `name`.
    public var names: [String] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let copies = all.compactMap { file -> (Int, String)? in
            guard file.hasPrefix(name + "."), let number = Int(file.dropFirst(name.count + 1)) else { return nil }
            return (number, file)
        }
        return copies.sorted { $0.0 > $1.0 }.map(\.1) + (all.contains(name) ? [name] : [])
    }

    /// How many rotated copies there are (`name` itself not counted).
    public var copyCount: Int { names.filter { $0 != name }.count }

    /// Every line of every file, oldest first, without the newlines.
    public func lines() -> [String] {
        names.flatMap { file -> [String] in
            guard let data = FileManager.default.contents(atPath: directory + "/" + file) else { return [] }
            return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                .dropLast().map(String.init)
        }
    }

    /// The bytes of all the files together.
    public var totalBytes: Int {
        names.reduce(0) { sum, file in
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + file)
            return sum + ((attributes?[.size] as? Int) ?? 0)
        }
    }
}

extension TemporaryDirectory {
    /// `name` in this directory and its rotated copies.
    public func rotated(_ name: String) -> RotatedFiles { RotatedFiles(directory: path, name: name) }
}
