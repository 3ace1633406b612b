import Foundation

/// The recipes of docs/journalctl.md, as written there: the `journalctl` lines of its ```sh
/// blocks, a part of the page at a time. The recipe tests run them as a reader would.
public enum JournalctlRecipes {
    private static var path: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/journalctl.md")
            .standardized.path
    }

    /// The lines from the heading that starts with `start` (nil: the top of the page) to the
    /// next heading that starts with `end`.
    public static func lines(from start: String? = nil, until end: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var reading = start == nil
        var inBlock = false
        var found: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let start, !reading {
                reading = line.hasPrefix(start)
                continue
            }
            if line.hasPrefix(end) { break }
            if line.hasPrefix("```") {
                inBlock = line == "```sh"
            } else if inBlock && line.hasPrefix("journalctl ") {
                found.append(String(line))
            }
        }
        return found
    }
}
