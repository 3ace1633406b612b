import Foundation
import JournalBridge
import JournalBridgeCollector
import JournalBridgeTestSupport
import Logging
import XCTest

/// docs/reliability.md, hostile clients: `BridgeLogHandler` driven with random extreme records
/// (metadata counts up to ~70,000, empty and huge keys, huge values, huge labels, files and
/// functions, multi-line text) through a real in-process collector. Every record must arrive,
/// in order, within the protocol's limits, every cut stated; nothing may crash or wedge.
/// `JB_HANDLER_FUZZ_RECORDS` sets the count (default 80, a few seconds);
/// `JB_HANDLER_FUZZ_STATE` the generator's starting state, to replay a run.
final class BridgeLogHandlerFuzzTests: XCTestCase {
    /// What the test checks of a delivered record (the records themselves may be megabytes).
    struct Delivered: Sendable {
        var marker: Int?
        var label: String
        var withinLimits: Bool
        var metadataCount: Int
        var dropped: String?
        var notes: Int
    }

    /// What was logged, to compare with what arrived.
    struct Sent {
        var metadataCount: Int
        var exceedsLimits: Bool
    }

    private static func markerOf(_ message: String) -> Int? {
        guard message.hasPrefix("#"), let end = message.dropFirst().firstIndex(of: "#") else { return nil }
        return Int(message[message.index(after: message.startIndex)..<end])
    }

    func testRandomExtremeRecordsAllArriveInOrderWithinTheLimits() throws {
        let environment = ProcessInfo.processInfo.environment
        let count = Int(environment["JB_HANDLER_FUZZ_RECORDS"] ?? "") ?? 80
        let start = UInt64(environment["JB_HANDLER_FUZZ_STATE"] ?? "") ?? UInt64.random(in: 0...UInt64.max)
        var random = SplitMix64(state: start)
        print("BridgeLogHandlerFuzzTests: \(count) records, JB_HANDLER_FUZZ_STATE=\(start)")

        let sink = RecordingSink { record in
            Delivered(
                marker: BridgeLogHandlerFuzzTests.markerOf(record.message), label: record.label,
                withinLimits: record.encodedSizeWithinWireLimits != nil, metadataCount: record.metadata.count,
                dropped: record.metadata.last.flatMap { $0.key == LogRecord.droppedMetadataKey ? $0.value : nil },
                notes: ([record.message, record.label, record.file, record.function]
                    + record.metadata.flatMap { [$0.key, $0.value] })
                    .reduce(0) { $0 + ($1.hasSuffix(" bytes]") && $1.contains("…[truncated ") ? 1 : 0) }
            )
        }
        let fixture = try CollectorFixture(sink: sink)
        defer { fixture.stop() }
        // .block: nothing shed, so every record must arrive.
        let shipper = fixture.shipper(identifier: "fuzz", overflow: .block)
        defer { shipper.shutdown(timeout: 0) }

        func text(maxBytes: Int) -> String {
            switch random.next() % 6 {
            case 0: return ""
            case 1: return "multi\nline\r\n\ttext\u{0}with NUL"
            case 2: return String(repeating: "é😀x", count: Int(random.next() % UInt64(maxBytes / 7 + 1)))
            case 3: return String(repeating: "y", count: Int(random.next() % UInt64(maxBytes + 1)))
            default: return "plain \(random.next() % 1000)"
            }
        }
        func size(huge: Int) -> Int { random.next() % 8 == 0 ? huge : 200 }

        var sent: [Sent] = []
        for index in 0..<count {
            let label = text(maxBytes: size(huge: 3 * 1024 * 1024))
            var logger = Logger(label: label) { BridgeLogHandler(label: $0, shipper: shipper, metadataProvider: nil) }
            logger.logLevel = .trace
            let fields: Int
            switch random.next() % 10 {
            case 0: fields = Int(random.next() % 70_001)
            case 1: fields = 990 + Int(random.next() % 20)
            default: fields = Int(random.next() % 8)
            }
            var metadata: Logger.Metadata = [:]
            metadata.reserveCapacity(fields)
            let hugeKeys = random.next() % 6 == 0
            let hugeValues = random.next() % 6 == 0
            for field in 0..<fields {
                // Unique keys: a dictionary would merge equal ones.
                let key =
                    field == 0
                    ? ""
                    : hugeKeys && field < 50 ? "\(field)" + String(repeating: "K", count: 1500 + field) : "k\(field)"
                metadata[key] =
                    hugeValues && field < 4 ? .string(text(maxBytes: 3 * 1024 * 1024)) : .string("v\(field)")
            }
            let message = "#\(index)#" + text(maxBytes: size(huge: 9 * 1024 * 1024))
            let file = text(maxBytes: size(huge: 3 * 1024 * 1024))
            let function = text(maxBytes: size(huge: 3 * 1024 * 1024))
            let level = Logger.Level.allCases[Int(random.next() % UInt64(Logger.Level.allCases.count))]
            logger.log(
                level: level, "\(message)", metadata: metadata, file: file, function: function,
                line: UInt(random.next() % 100_000))

            let record = LogRecord(
                level: level, label: label, message: message, file: file, function: function,
                metadata: metadata.flattened(), origin: .unattributed
            )
            sent.append(Sent(metadataCount: fields, exceedsLimits: record.encodedSizeWithinWireLimits == nil))
        }

        XCTAssertTrue(shipper.flush(timeout: 120), "every record acknowledged: \(shipper.statistics)")
        // The shipper's and the collector's own records (labels `journal-bridge...`) say what went wrong.
        let own = sink.summaries.filter { $0.label.hasPrefix("journal-bridge") && $0.marker == nil }
        XCTAssertEqual(own.count, 0, "no drop, refusal or protocol violation reported")
        let delivered = sink.summaries.filter { !($0.label.hasPrefix("journal-bridge") && $0.marker == nil) }
        XCTAssertEqual(delivered.map(\.marker), (0..<count).map { Optional($0) }, "each record once, in order")
        XCTAssertEqual(shipper.statistics.refused, 0)
        XCTAssertEqual(shipper.statistics.dropped, 0)
        var clamped = 0
        for (record, original) in zip(delivered, sent) {
            XCTAssertTrue(record.withinLimits, "record \(record.marker ?? -1) within the protocol's limits")
            if original.metadataCount > WireProtocol.maxMetadataPerRecord {
                XCTAssertEqual(record.metadataCount, WireProtocol.maxMetadataPerRecord)
                XCTAssertEqual(record.dropped, String(original.metadataCount - WireProtocol.maxMetadataPerRecord + 1))
            } else {
                XCTAssertEqual(record.metadataCount, original.metadataCount)
            }
            if original.exceedsLimits {
                clamped += 1
                XCTAssertTrue(
                    record.notes > 0 || record.dropped != nil, "record \(record.marker ?? -1): the cut is stated")
            } else {
                XCTAssertEqual(record.notes, 0, "record \(record.marker ?? -1) was not cut")
            }
        }
        print(
            "BridgeLogHandlerFuzzTests: \(count) records delivered in order, \(clamped) clamped, \(shipper.statistics.reconnects) connection(s)"
        )
    }
}
