import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging

/// An in-process collector listening on `c.sock` in a fresh temporary directory: the one
/// setup the collector's end-to-end tests share. Stopped by `stop()`, or when released
/// (`Collector`'s deinit); the directory goes with it.
final class CollectorFixture {
    let directory: TemporaryDirectory
    let collector: Collector
    var socketPath: String { directory.file("c.sock") }

    /// A collector writing to `routes` (given the directory, for files in it); `configure`
    /// changes its configuration first (the socket path aside).
    init(
        configure: (inout CollectorConfiguration) -> Void = { _ in }, routes: (TemporaryDirectory) throws -> [SinkRoute]
    ) throws {
        directory = try TemporaryDirectory()
        var configuration = CollectorConfiguration(socketPath: directory.file("c.sock"))
        configure(&configuration)
        collector = Collector(configuration: configuration, routes: try routes(directory))
        try collector.start()
    }

    /// A collector writing the files `<base>_error.log` and `<base>_debug.log` in the directory,
    /// never rolling, to journald from `journaldLevel` (nil: not at all), with no console;
    /// `sinks` changes that first.
    convenience init(
        files base: String, journaldLevel: Logger.Level? = nil,
        configure: (inout CollectorConfiguration) -> Void = { _ in },
        sinks: (inout SinkConfiguration) throws -> Void = { _ in }
    ) throws {
        try self.init(configure: configure) { directory in
            var configuration = SinkConfiguration(
                base: directory.file(base), consoleLevel: nil, journaldLevel: journaldLevel, maxBytes: 0)
            try sinks(&configuration)
            return try configuration.makeRoutes()
        }
    }

    /// A collector writing every record to `sink`.
    convenience init(sink: any LogSink, configure: (inout CollectorConfiguration) -> Void = { _ in }) throws {
        try self.init(configure: configure) { _ in [SinkRoute(sink, minimumLevel: .trace)] }
    }

    /// A shipper to this collector that does not flush at exit (the test shuts it down).
    func shipper(identifier: String, overflow: OverflowPolicy? = nil) -> RecordShipper {
        var configuration = ShipperConfiguration(socketPath: socketPath, identifier: identifier, flushAtExit: nil)
        if let overflow { configuration.overflow = overflow }
        return RecordShipper(configuration: configuration)
    }

    func stop() { collector.stop() }
}
