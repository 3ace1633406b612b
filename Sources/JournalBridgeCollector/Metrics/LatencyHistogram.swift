/// Receive-to-written latency in fixed buckets (seconds, Prometheus `le` bounds), cumulative
/// counts kept per bucket so that rendering is a copy.
package struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds in nanoseconds; the last bucket (+Inf) is `count`.
    package static let bounds: [UInt64] = [
        1_000_000, 5_000_000, 10_000_000, 50_000_000, 100_000_000, 500_000_000, 1_000_000_000, 5_000_000_000,
    ]
    /// Records whose latency was at most each bound.
    package var buckets = [Int](repeating: 0, count: LatencyHistogram.bounds.count)
    package var count = 0
    package var sumNanoseconds: UInt64 = 0

    /// `records` records written `nanoseconds` after they were received.
    package mutating func observe(_ nanoseconds: UInt64, records: Int) {
        guard records > 0 else { return }
        for index in Self.bounds.indices where nanoseconds <= Self.bounds[index] { buckets[index] += records }
        count += records
        sumNanoseconds &+= nanoseconds &* UInt64(records)
    }
}
