import ArgumentParser
import JournalBridge
import JournalBridgeCollector
import JournalBridgeDaemon

extension JournalBridgeCommand {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the running collector's counters: per sink, input and source; gauges; latency.",
            discussion: """
                Asks the collector over its control channel, <socket>.control, made with the main socket's mode \
                and group and open to root, the daemon's user and the socket's group. Per sink, routed equals \
                written plus the dropped counts plus the records in flight (queued, or held for journald while it \
                is away). --json and --prometheus print the same figures.
                """
        )

        @Option(help: "The collector's socket (default: $JOURNAL_BRIDGE_SOCKET, else the daemon's).")
        var socket: String?

        @Flag(help: "Print JSON.")
        var json = false

        @Flag(help: "Print the Prometheus text exposition format.")
        var prometheus = false

        func validate() throws {
            if json && prometheus { throw ValidationError("--json and --prometheus exclude each other") }
        }

        func run() throws {
            let path = ShipperConfiguration(socketPath: socket).resolvedSocketPath + ControlServer.suffix
            let answer = try ControlServer.ask(path: path, request: json ? "json" : prometheus ? "prometheus" : "table")
            print(answer, terminator: "")
        }
    }
}
