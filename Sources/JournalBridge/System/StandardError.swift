/// Diagnostics of the bridge itself, straight to fd 2 (never through a logger: that could loop).
package enum StandardError {
    package static func write(_ text: String) {
        // Nowhere to report a failure to write to stderr: it is dropped.
        try? writeAll(2, Array(text.utf8))
    }
}
