import Foundation

/// The syslog corpus in Tests/Corpus/syslog: RFC examples, what real clients sent
/// (Tests/Corpus/capture-syslog.py), malformed inputs. `.dgram` is one message,
/// `.stream` the bytes of one stream connection.
enum SyslogCorpus {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Corpus/syslog").standardized

    static func bytes(_ name: String) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else {
            fatalError("corpus file \(name) is missing from \(directory.path)")
        }
        return Array(data)
    }

    /// Every file, sorted by name.
    static var all: [(name: String, bytes: [UInt8])] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().map { ($0, bytes($0)) }
    }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}

extension Optional where Wrapped == [UInt8] {
    var text: String? { self.map { String(decoding: $0, as: UTF8.self) } }
}
