#if canImport(Glibc)
import Glibc
#endif

/// Why `readFile` gave up.
package enum ReadFileError: Error, Equatable {
    /// A system call failed (`call` is "open", "fstat" or "read").
    case system(SystemError)
    /// What is at the path is not a regular file; its `st_mode`.
    case notRegularFile(mode_t)
    /// It holds more than the limit.
    case tooLarge(limit: Int)
}

/// Reads the whole file at `path`: the one file reader of the package. The file is opened
/// non-blocking and checked with `fstat` before anything is read, so that a FIFO, a device or a
/// directory is refused instead of hanging the reader, eating its memory, or reading as an empty
/// file (a symbolic link to a regular file is fine); at most `limit` bytes are read (one more
/// read says the file is larger, without reading it all).
package func readFile(_ path: String, limit: Int) throws(ReadFileError) -> [UInt8] {
    try readFileAndStatus(path, limit: limit).bytes
}

/// `readFile`, with the `fstat` of the very file read (its owner and mode, for a caller that
/// trusts a file only from some users: a second `stat` of the path could see another file).
package func readFileAndStatus(_ path: String, limit: Int) throws(ReadFileError) -> (bytes: [UInt8], status: stat) {
    let fd: Int32
    do {
        fd = try syscall("open") { open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) }
    } catch {
        throw .system(error)
    }
    defer { close(fd) }  // read-only: nothing to lose if close fails
    var info = stat()
    do {
        try syscall("fstat") { fstat(fd, &info) }
    } catch {
        throw .system(error)
    }
    guard info.st_mode & S_IFMT == S_IFREG else { throw .notRegularFile(info.st_mode) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while bytes.count <= limit {
        let wanted = min(chunk.count, limit + 1 - bytes.count)
        // (Typed throws cannot cross `withUnsafeMutableBytes` without crashing swiftc 6.3: errno comes out instead.)
        var readErrno: Int32 = 0
        let count = chunk.withUnsafeMutableBytes { buffer -> Int in
            do throws(SystemError) {
                return try syscall("read") { read(fd, buffer.baseAddress, wanted) }
            } catch {
                readErrno = error.errno
                return -1
            }
        }
        if count < 0 { throw .system(SystemError(call: "read", errno: readErrno)) }
        if count == 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    guard bytes.count <= limit else { throw .tooLarge(limit: limit) }
    return (bytes, info)
}
