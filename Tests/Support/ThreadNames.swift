import Foundation

/// The names of this process's threads (/proc/self/task/*/comm): what a test looks at to see
/// that an owner's thread is gone once its stop returned.
public func threadNames() -> [String] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { task in
        (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?.trimmingCharacters(
            in: .newlines)
    }
}
