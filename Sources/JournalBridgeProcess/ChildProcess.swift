#if canImport(Glibc)
import Glibc
#endif
import JournalBridge

/// Starting and reaping worker processes without Foundation (which the worker
/// side and the daemon do not link): posix_spawn and waitpid.
package enum ChildProcess {
    /// What the child's descriptors are before it starts.
    package enum FileAction {
        /// open(path, flags) as descriptor `fd`.
        case open(fd: Int32, path: String, flags: Int32)
        /// dup2(source, fd): e.g. a pipe as stderr, a listening socket as fd 3.
        case duplicate(Int32, as: Int32)
        case close(Int32)
    }

    /// Starts `executable` with `arguments` (argv[0] is the executable), inheriting
    /// stdin/stdout/stderr (unless `fileActions` say otherwise) and the environment plus `environment`.
    package static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], fileActions: [FileAction] = []
    ) throws(SystemError) -> pid_t {
        var variables: [String] = []
        var current = environ
        while let entry = current.pointee {
            let text = String(cString: entry)
            let name = text.prefix { $0 != "=" }
            if environment[String(name)] == nil { variables.append(text) }
            current += 1
        }
        variables += environment.map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for action in fileActions {
            switch action {
            case .open(let fd, let path, let flags): posix_spawn_file_actions_addopen(&actions, fd, path, flags, 0)
            case .duplicate(let source, let fd): posix_spawn_file_actions_adddup2(&actions, source, fd)
            case .close(let fd): posix_spawn_file_actions_addclose(&actions, fd)
            }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard result == 0 else { throw SystemError(call: "posix_spawn \(executable)", errno: result) }
        return pid
    }

    /// Waits for `pid`; its exit status, or 128 + the signal that ended it.
    package static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// This executable, for starting copies of itself as workers.
    package static var currentExecutable: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0
            ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    }
}
