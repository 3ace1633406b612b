/// Medians over the runs, as a table or one JSON object.
struct BenchSummary {
    let options: JournalBridgeCommand.Bench
    let runs: [BenchRun]

    /// The median of `values` (of the middle two for an even count), 0 for none: every bench table's.
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    var records: Int { runs.first?.records ?? 0 }
    var missing: Int { runs.reduce(0) { $0 + max($1.missingFiles ?? 0, $1.missingJournald ?? 0) } }
    var rate: Double { Self.median(runs.map(\.recordsPerSecond)) }
    var ceiling: Double? {
        runs.contains { $0.ceilingPerSecond == nil } ? nil : Self.median(runs.map { $0.ceilingPerSecond! })
    }
    var ratio: Double? {
        runs.contains { $0.ceilingPerSecond == nil }
            ? nil : Self.median(runs.map { $0.recordsPerSecond / $0.ceilingPerSecond! })
    }
    var peak: Double { Self.median(runs.map { Double($0.peakRSS) }) }

    private func median(optional values: [Double?]) -> Double? {
        values.contains { $0 == nil } ? nil : Self.median(values.map { $0! })
    }

    var table: String {
        func row(_ name: String, _ value: String) -> String {
            name.padding(to: 44) + value
        }
        func calls(_ p: [Percentiles]) -> String {
            "\(format(Self.median(p.map(\.p50)))) / \(format(Self.median(p.map(\.p99)))) / \(format(Self.median(p.map(\.p999)))) µs"
        }
        var lines = [
            "journal-bridge bench: \(options.workers) workers x \(options.records) records (\(options.recordSize) B, \(options.metadata) metadata), sinks \(options.sinks); medians of \(runs.count) run\(runs.count == 1 ? "" : "s")",
            row("records", "\(records)"),
            row(
                "missing (files / journald)",
                "\(runs.map { $0.missingFiles.map(String.init) ?? "-" }.joined(separator: ",")) / \(runs.map { $0.missingJournald.map(String.init) ?? "-" }.joined(separator: ","))"
            ),
            row(
                "end to end",
                "\(Int(rate)) records/s  (runs: \(runs.map { String(Int($0.recordsPerSecond)) }.joined(separator: ", ")))"
            ),
        ]
        if let ceiling, let ratio {
            lines.append(
                row(
                    "journald ceiling, same run",
                    "\(Int(ceiling)) records/s  (runs: \(runs.map { String(Int($0.ceilingPerSecond!)) }.joined(separator: ", ")))"
                ))
            lines.append(row("ratio to the ceiling", format(ratio)))
            if let shaped = median(optional: runs.map(\.shapedCeilingPerSecond)) {
                lines.append(
                    row(
                        "ceiling with the bridge's entries",
                        "\(Int(shaped)) records/s  (runs: \(runs.map { String(Int($0.shapedCeilingPerSecond!)) }.joined(separator: ", ")))"
                    ))
                lines.append(
                    row(
                        "ratio to that ceiling",
                        format(Self.median(runs.map { $0.recordsPerSecond / $0.shapedCeilingPerSecond! }))))
            }
        }
        for (index, url) in options.forward.enumerated() {
            let forward = Self.median(runs.map { $0.forwardPerSecond[index] })
            lines.append(
                row(
                    "forward \(url)",
                    "\(Int(forward)) records/s  (ratio to end to end: \(format(Self.median(runs.map { $0.forwardPerSecond[index] / $0.recordsPerSecond }))))"
                ))
        }
        lines.append(
            row(
                "log call, paced at \(Int(Self.median(runs.map(\.pacedRate)))) /s: p50 / p99 / p99.9",
                calls(runs.map(\.paced))))
        lines.append(row("log call, saturated: p50 / p99 / p99.9", calls(runs.map(\.saturated))))
        lines.append(row("collector peak RSS", "\(format(peak / 1_048_576, digits: 1)) MiB"))
        return lines.joined(separator: "\n")
    }

    var json: String {
        var fields: [(String, String)] = [
            ("workers", "\(options.workers)"), ("records_per_worker", "\(options.records)"),
            ("record_size", "\(options.recordSize)"),
            ("metadata", "\(options.metadata)"), ("sinks", "\"\(options.sinks)\""), ("runs", "\(runs.count)"),
            ("records", "\(records)"), ("missing", "\(missing)"),
            ("missing_files", runs.last?.missingFiles.map(String.init) ?? "null"),
            ("missing_journald", runs.last?.missingJournald.map(String.init) ?? "null"),
            ("records_per_second", format(rate, digits: 0)),
            ("journald_ceiling_per_second", ceiling.map { format($0, digits: 0) } ?? "null"),
            ("ratio_to_ceiling", ratio.map { format($0, digits: 3) } ?? "null"),
            (
                "bridge_shaped_ceiling_per_second",
                median(optional: runs.map(\.shapedCeilingPerSecond)).map { format($0, digits: 0) } ?? "null"
            ),
            (
                "ratio_to_bridge_shaped_ceiling",
                median(optional: runs.map { r in r.shapedCeilingPerSecond.map { r.recordsPerSecond / $0 } }).map {
                    format($0, digits: 3)
                } ?? "null"
            ),
            ("paced_rate_per_second", format(Self.median(runs.map(\.pacedRate)), digits: 0)),
            ("call_p50_us", format(Self.median(runs.map(\.paced.p50)), digits: 3)),
            ("call_p99_us", format(Self.median(runs.map(\.paced.p99)), digits: 3)),
            ("call_p999_us", format(Self.median(runs.map(\.paced.p999)), digits: 3)),
            ("saturated_call_p50_us", format(Self.median(runs.map(\.saturated.p50)), digits: 3)),
            ("saturated_call_p99_us", format(Self.median(runs.map(\.saturated.p99)), digits: 3)),
            ("saturated_call_p999_us", format(Self.median(runs.map(\.saturated.p999)), digits: 3)),
            ("collector_peak_rss_bytes", format(peak, digits: 0)),
            (
                "forward_per_second",
                "{\(options.forward.enumerated().map { index, url in "\"\(url)\":\(format(Self.median(runs.map { $0.forwardPerSecond[index] }), digits: 0))" }.joined(separator: ","))}"
            ),
            (
                "per_run_records_per_second",
                "[\(runs.map { format($0.recordsPerSecond, digits: 0) }.joined(separator: ","))]"
            ),
            (
                "per_run_ceiling_per_second",
                "[\(runs.map { $0.ceilingPerSecond.map { format($0, digits: 0) } ?? "null" }.joined(separator: ","))]"
            ),
        ]
        fields = fields.map { ($0.0, $0.1.hasSuffix(".0") ? String($0.1.dropLast(2)) : $0.1) }
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}

extension String {
    /// The bench tables' first column: padded to `width`, one space at least.
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
