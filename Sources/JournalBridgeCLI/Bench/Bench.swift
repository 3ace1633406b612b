import ArgumentParser
import JournalBridge
import JournalBridgeCollector
import Logging
#if canImport(Glibc)
import Glibc
#endif

extension JournalBridgeCommand {
    /// The benchmark: journald's ceiling and the bridge end to end, side by side in one run.
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the bridge end to end against journald's own ceiling, in the same run.",
            discussion: """
                Each run: (1) journald's ceiling, a plain sd_journal_sendv loop from this process (identifier \
                <ID>-ceiling), timed until journald has stored every entry, and the same loop with entries shaped \
                like the bridge's (<ID>-ceiling-shaped); (2) an embedded collector and N worker \
                processes logging M records each as fast as they can (identifier <ID>), timed until the files are \
                written and journald has stored every entry, with every record counted; (3) a paced phase \
                (identifier <ID>-paced) where the workers log at half the rate of (2), for the cost of one `log` \
                call when the queue is busy but never full. Figures are medians over --runs.
                """
        )

        @Option(help: "Worker processes.")
        var workers = 10

        @Option(help: "Records each worker logs in the end-to-end phase.")
        var records = 20_000

        @Option(help: "Records each worker logs in the paced phase.")
        var pacedRecords = 5_000

        @Option(
            help:
                "Records per second (all workers together) in the paced phase; default: half the end-to-end rate just measured."
        )
        var pacedRate: Double?

        @Option(help: "Message size in bytes.")
        var recordSize = 100

        @Option(help: "Metadata fields per record.")
        var metadata = 2

        @Option(help: "Sinks, comma-separated: journald, files, console.")
        var sinks = "journald,files,console"

        @Option(help: "Records in journald's ceiling loop.")
        var ceilingRecords = 100_000

        @Option(help: "Runs; the figures are medians.")
        var runs = 1

        @Option(help: "journald identifier (the ceiling uses <ID>-ceiling, the paced phase <ID>-paced).")
        var identifier = "journal-bridge-bench"

        @Option(
            help:
                "Measure a syslog input instead of the bridge's protocol: unix (datagram, as /dev/log) or tcp; needs --syslog-sender."
        )
        var syslog: String?

        @Option(
            help:
                "The syslog sender (scripts/peers/syslog-flood.c, compiled): run as SENDER MODE TARGET WORKERS RECORDS SIZE ID."
        )
        var syslogSender: String?

        @Option(
            help:
                "Also time a collector whose only sink forwards to this receiver (syslog+tcp://, syslog+tls://, relp://; repeatable): the same workers and records, until the receiver has every record."
        )
        var forward: [String] = []

        @Flag(help: "Print one JSON object instead of the table.")
        var json = false

        func validate() throws {
            guard workers >= 1, workers <= 1000 else { throw ValidationError("--workers must be 1...1000") }
            guard records >= 1, pacedRecords >= 0, recordSize >= 0, metadata >= 0, runs >= 1 else {
                throw ValidationError("--records, --runs must be at least 1; sizes and counts not negative")
            }
            if let syslog, !["unix", "tcp"].contains(syslog) { throw ValidationError("--syslog: unix or tcp") }
            if (syslog == nil) != (syslogSender == nil) {
                throw ValidationError("--syslog and --syslog-sender go together")
            }
            for url in forward {
                do { _ = try ForwardDestination(parsing: url) } catch { throw ValidationError("--forward \(error)") }
            }
            let known: Set = ["journald", "files", "console"]
            for sink in sinkList where !known.contains(sink) {
                throw ValidationError("--sinks: unknown sink '\(sink)' (journald, files, console)")
            }
        }

        var sinkList: [String] { sinks.split(separator: ",").map { String($0.filter { $0 != " " }) } }

        func run() throws {
            if let syslog, let syslogSender {
                var results: [SyslogBench.Result] = []
                for run in 1...runs {
                    results.append(try SyslogBench(options: self, run: run).execute(mode: syslog, sender: syslogSender))
                }
                print(SyslogBench.table(self, mode: syslog, results))
                if results.contains(where: { max($0.missingFiles ?? 0, $0.missingJournald ?? 0) > 0 }) {
                    throw ExitCode(1)
                }
                return
            }
            var results: [BenchRun] = []
            for run in 1...runs {
                results.append(try BenchRunner(options: self, run: run).execute())
            }
            let summary = BenchSummary(options: self, runs: results)
            print(json ? summary.json : summary.table)
            if summary.missing > 0 { throw ExitCode(1) }
        }
    }
}
