import JournalBridge
import Logging

/// Everything `journal-bridge status` shows, taken at one moment: each sink's counters under
/// that sink's lock (so `routed = written + Σ dropped + in_flight` holds for each), the inputs'
/// and sources' under theirs, and the gauges.
package struct CollectorSnapshot: Sendable {
    package var sinks: [SinkTally.Snapshot]
    package var inputs: InputTally.Snapshot
    /// Records routed per level, the collector's own included.
    package var levels: [Logger.Level: Int]
    package var connections: Int
    /// Bytes held in unfinished frames and in queued records (the memory budget's two shares).
    package var unfinishedFrameBytes: Int
    package var queuedRecordBytes: Int
    package var reloads = 0
    package var reloadFailures = 0

    /// The JSON `status --json` prints: `{"sinks": {NAME: {...}}, "inputs": {...}, "sources": [...], ...}`.
    package var json: String {
        func dropped(_ counts: [DropReason: Int], _ reasons: [DropReason]) -> String {
            "{" + reasons.map { "\(quote($0.rawValue)): \(counts[$0] ?? 0)" }.joined(separator: ", ") + "}"
        }
        func counts(_ c: InputTally.Counts) -> String {
            "\"received\": \(c.received), \"duplicates\": \(c.duplicates), \"routed\": \(c.routed), \"dropped\": \(dropped(c.dropped, DropReason.inputReasons))"
        }
        let sinkText = sinks.map { sink in
            let buckets = zip(LatencyHistogram.bounds, sink.latency.buckets).map {
                "\(quote(String(Double($0) / 1e9))): \($1)"
            }
            return
                "\(quote(sink.name)): {\"routed\": \(sink.routed), \"written\": \(sink.written), \"dropped\": \(dropped(sink.dropped, DropReason.sinkReasons)), "
                + "\"queued\": \(sink.queued), \"held\": \(sink.held), \"in_flight\": \(sink.inFlight), "
                + "\"latency_seconds\": {\"count\": \(sink.latency.count), \"sum\": \(Double(sink.latency.sumNanoseconds) / 1e9), \"le\": {\(buckets.joined(separator: ", "))}}}"
        }
        let inputText = inputs.inputs.sorted { $0.key < $1.key }.map { "\(quote($0.key)): {\(counts($0.value))}" }
        let sourceText = inputs.sources.sorted { $0.key < $1.key }.map { key, value in
            "{\"uid\": \(key.uid), \"unit\": \(key.unit.map(quote) ?? "null"), \"identifier\": \(quote(key.identifier)), \(counts(value))}"
        }
        let levelText = Logger.Level.allCases.map { "\(quote($0.rawValue)): \(levels[$0] ?? 0)" }
        return "{\"sinks\": {\(sinkText.joined(separator: ", "))}, \"inputs\": {\(inputText.joined(separator: ", "))}, "
            + "\"sources\": [\(sourceText.joined(separator: ", "))], \"levels\": {\(levelText.joined(separator: ", "))}, "
            + "\"gauges\": {\"connections\": \(connections), \"unfinished_frame_bytes\": \(unfinishedFrameBytes), \"queued_record_bytes\": \(queuedRecordBytes), "
            + "\"journald_backlog\": \(sinks.first { $0.name == "journald" }?.held ?? 0)}, "
            + "\"reloads\": {\"applied\": \(reloads), \"failed\": \(reloadFailures)}}\n"
    }

    /// The Prometheus text exposition format (0.0.4), the same figures as `json`.
    package var prometheus: String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: [(String, String)], _ value: CustomStringConvertible) {
            let text =
                labels.isEmpty
                ? "" : "{" + labels.map { "\($0)=\"\(Self.escapeLabel($1))\"" }.joined(separator: ",") + "}"
            out += "\(name)\(text) \(value)\n"
        }
        family("journal_bridge_sink_routed_total", "counter", "Records routed to the sink.")
        for s in sinks { sample("journal_bridge_sink_routed_total", [("sink", s.name)], s.routed) }
        family("journal_bridge_sink_written_total", "counter", "Records the sink stored.")
        for s in sinks { sample("journal_bridge_sink_written_total", [("sink", s.name)], s.written) }
        family("journal_bridge_sink_dropped_total", "counter", "Records routed to the sink and not stored, by reason.")
        for s in sinks {
            for r in DropReason.sinkReasons {
                sample(
                    "journal_bridge_sink_dropped_total", [("sink", s.name), ("reason", r.rawValue)], s.dropped[r] ?? 0)
            }
        }
        family(
            "journal_bridge_sink_in_flight", "gauge",
            "Records routed to the sink, neither stored nor dropped yet (queued or held).")
        for s in sinks { sample("journal_bridge_sink_in_flight", [("sink", s.name)], s.inFlight) }
        family("journal_bridge_sink_queue_depth", "gauge", "Records in the sink's queue.")
        for s in sinks { sample("journal_bridge_sink_queue_depth", [("sink", s.name)], s.queued) }
        family("journal_bridge_sink_latency_seconds", "histogram", "From routed to written, per record.")
        for s in sinks {
            for (bound, count) in zip(LatencyHistogram.bounds, s.latency.buckets) {
                sample(
                    "journal_bridge_sink_latency_seconds_bucket",
                    [("sink", s.name), ("le", String(Double(bound) / 1e9))], count)
            }
            sample("journal_bridge_sink_latency_seconds_bucket", [("sink", s.name), ("le", "+Inf")], s.latency.count)
            sample(
                "journal_bridge_sink_latency_seconds_sum", [("sink", s.name)], Double(s.latency.sumNanoseconds) / 1e9)
            sample("journal_bridge_sink_latency_seconds_count", [("sink", s.name)], s.latency.count)
        }
        let inputs = self.inputs.inputs.sorted { $0.key < $1.key }
        let sources = self.inputs.sources.sorted { $0.key < $1.key }
        func sourceLabels(_ key: SourceKey) -> [(String, String)] {
            [("uid", String(key.uid)), ("unit", key.unit ?? ""), ("identifier", key.identifier)]
        }
        for (metric, help, value) in [
            ("received", "Records received.", { (c: InputTally.Counts) in c.received }),
            ("duplicates", "Resent records already routed, removed.", { $0.duplicates }),
            ("routed", "Records handed to the router.", { $0.routed }),
        ] as [(String, String, (InputTally.Counts) -> Int)] {
            family("journal_bridge_input_\(metric)_total", "counter", help)
            for (name, c) in inputs { sample("journal_bridge_input_\(metric)_total", [("input", name)], value(c)) }
            family("journal_bridge_source_\(metric)_total", "counter", help)
            for (key, c) in sources { sample("journal_bridge_source_\(metric)_total", sourceLabels(key), value(c)) }
        }
        family(
            "journal_bridge_input_dropped_total", "counter",
            "Records (or connections, for parse_failure and oversize_cut) lost before routing, by reason.")
        for (name, c) in inputs {
            for r in DropReason.inputReasons {
                sample(
                    "journal_bridge_input_dropped_total", [("input", name), ("reason", r.rawValue)], c.dropped[r] ?? 0)
            }
        }
        family(
            "journal_bridge_source_dropped_total", "counter", "Records of the source lost before routing, by reason.")
        for (key, c) in sources {
            for r in [DropReason.workerShed, .rateLimited] {
                sample(
                    "journal_bridge_source_dropped_total", sourceLabels(key) + [("reason", r.rawValue)],
                    c.dropped[r] ?? 0)
            }
        }
        family("journal_bridge_level_routed_total", "counter", "Records routed, per level.")
        for level in Logger.Level.allCases {
            sample("journal_bridge_level_routed_total", [("level", level.rawValue)], levels[level] ?? 0)
        }
        family("journal_bridge_connections", "gauge", "Open worker connections.")
        sample("journal_bridge_connections", [], connections)
        family(
            "journal_bridge_unfinished_frame_bytes", "gauge", "Bytes of the memory budget held for unfinished frames.")
        sample("journal_bridge_unfinished_frame_bytes", [], unfinishedFrameBytes)
        family("journal_bridge_queued_record_bytes", "gauge", "Bytes of the memory budget held by queued records.")
        sample("journal_bridge_queued_record_bytes", [], queuedRecordBytes)
        family("journal_bridge_journald_backlog", "gauge", "Records kept for journald while it is away.")
        sample("journal_bridge_journald_backlog", [], sinks.first { $0.name == "journald" }?.held ?? 0)
        family("journal_bridge_reloads_total", "counter", "Configuration reloads, by result.")
        sample("journal_bridge_reloads_total", [("result", "applied")], reloads)
        sample("journal_bridge_reloads_total", [("result", "failed")], reloadFailures)
        return out
    }

    /// The table `status` prints without a flag.
    package var table: String {
        var out =
            "SINK          ROUTED     WRITTEN  IN FLIGHT  "
            + DropReason.sinkReasons.map { $0.rawValue.uppercased().padding(12) }.joined() + "\n"
        for s in sinks {
            out +=
                s.name.padding(12) + String(s.routed).leftPadding(8) + String(s.written).leftPadding(12)
                + String(s.inFlight).leftPadding(11) + "  "
            out += DropReason.sinkReasons.map { String(s.dropped[$0] ?? 0).padding(12) }.joined() + "\n"
        }
        out += "\nSOURCE                                    RECEIVED  DUPLICATES  RATE_LIMITED  WORKER_SHED\n"
        for (key, c) in inputs.sources.sorted(by: { $0.key < $1.key }) {
            // The identifier (and a unit, read from /proc) is the client's word: escaped as the
            // files are, or a name with ESC or LF would drive the reader's terminal or forge rows.
            // A network sender has no uid (`UInt32.max`): its address is its name, as the rate
            // limit's summaries say it; the sources past the table's bound have neither.
            let name =
                key == SourceKey.other
                ? key.identifier
                : key.uid == UInt32.max
                    ? "peer " + LineEscaping.escaped(key.identifier)
                    : "uid \(key.uid) " + LineEscaping.escaped(key.unit ?? "-") + " "
                        + LineEscaping.escaped(key.identifier)
            out +=
                String(name.prefix(40)).padding(40) + String(c.received).leftPadding(10)
                + String(c.duplicates).leftPadding(12)
                + String(c.dropped[.rateLimited] ?? 0).leftPadding(14)
                + String(c.dropped[.workerShed] ?? 0).leftPadding(13) + "\n"
        }
        // Every input's, the syslog ones too (the bridge's alone said "parse failures 0" beside
        // a syslog input's 9 and its kernel drops); each input's own are in --json and --prometheus.
        func total(_ reason: DropReason) -> Int { inputs.inputs.values.reduce(0) { $0 + ($1.dropped[reason] ?? 0) } }
        out +=
            "\nconnections \(connections), unfinished frames \(unfinishedFrameBytes) bytes, queued records \(queuedRecordBytes) bytes, "
        out +=
            "parse failures \(total(.parseFailure)), oversize \(total(.oversizeCut)), kernel drops \(total(.kernelDrop)), reloads \(reloads) (\(reloadFailures) failed)\n"
        return out
    }

    /// One line for `sd_notify` `STATUS=`.
    package var summary: String {
        let received = inputs.inputs.values.reduce(0) { $0 + $1.received }
        let written = sinks.map { "\($0.name) \($0.written)" }.joined(separator: ", ")
        let dropped =
            sinks.reduce(0) { $0 + $1.droppedTotal }
            + inputs.inputs.values.reduce(0) { $0 + ($1.dropped[.rateLimited] ?? 0) }
        return "\(connections) connections, \(received) records received; written: \(written); \(dropped) dropped"
    }

    static func escapeLabel(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

/// A JSON string literal: control characters escaped, the rest as is.
func quote(_ text: String) -> String {
    var out = "\""
    for c in text.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where c.value < 0x20:
            let hex = String(c.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(c)
        }
    }
    return out + "\""
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
    fileprivate func leftPadding(_ width: Int) -> String {
        count >= width ? " " + self : String(repeating: " ", count: width - count) + self
    }
}
