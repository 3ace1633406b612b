import Foundation

/// One thread of this process, as `/proc/self/task/<id>/` shows it.
public struct TaskThread: Sendable {
    /// The thread's id (its directory under /proc/self/task).
    public let id: Int
    /// Its name (`comm`).
    public let name: String
    /// Its scheduling policy (`stat` field 41: 0 SCHED_OTHER, 3 SCHED_BATCH, 5 SCHED_IDLE, ...);
    /// nil when it could not be read.
    public let policy: Int32?
}

/// This process's threads (/proc/self/task/*): their ids, names and scheduling policies.
public func taskThreads() -> [TaskThread] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { task in
        guard let id = Int(task),
            let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
        else { return nil }
        var policy: Int32?
        if let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            // After the name (which may hold spaces): field 3 (the state) is the first; the policy is field 41.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 38 { policy = Int32(fields[38]) }
        }
        return TaskThread(id: id, name: comm.trimmingCharacters(in: .newlines), policy: policy)
    }
}

/// The names of this process's threads (/proc/self/task/*/comm): what a test looks at to see
/// that an owner's thread is gone once its stop returned.
public func threadNames() -> [String] { taskThreads().map(\.name) }
