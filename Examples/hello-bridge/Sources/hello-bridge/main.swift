#if canImport(Glibc)
import Glibc
#endif
import JournalBridge
import Logging

// The two lines: one shipper per process, every logger ships through it to the
// collector at $JOURNAL_BRIDGE_SOCKET (default /run/journal-bridge/journal-bridge.sock).
let shipper = RecordShipper(configuration: ShipperConfiguration(identifier: "hello-bridge"))
LoggingSystem.bootstrap { BridgeLogHandler(label: $0, shipper: shipper) }

var logger = Logger(label: "hello-bridge.main")
logger[metadataKey: "run"] = "\(CommandLine.arguments.dropFirst().first ?? "default")"
logger.debug("hello-bridge starting")
logger.info("hello from a Swift program", metadata: ["request.id": "42"])
logger.warning("this one also lands in the error file")
// A normal exit flushes what is queued; say so explicitly to report a failure.
if !shipper.flush(timeout: 10) {
    print("hello-bridge: the collector did not acknowledge every record")
    exit(1)
}
