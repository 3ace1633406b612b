// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "journal-bridge",
    products: [
        // What worker processes link: records, levels, field names, the wire codec and BridgeLogHandler.
        .library(name: "JournalBridge", targets: ["JournalBridge"]),
        // Sinks, router, direct mode and the collector.
        .library(name: "JournalBridgeCollector", targets: ["JournalBridgeCollector"]),
        .executable(name: "journal-bridge", targets: ["journal-bridge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // The forward sink's transports (TCP, TLS, RELP): the collector only, never the worker library.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(name: "CJournalBridgeShims"),
        .target(
            name: "JournalBridge",
            dependencies: [
                "CJournalBridgeShims",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "JournalBridgeCollector",
            dependencies: [
                "JournalBridge", "CSystemd", "CJournalBridgeShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "JournalBridgeCLI",
            dependencies: [
                "JournalBridge",
                "JournalBridgeCollector",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "journal-bridge", dependencies: ["JournalBridgeCLI"]),
        // Helpers for the tests: journalctl read-back, real processes, temporary directories.
        .target(name: "JournalBridgeTestSupport", dependencies: ["JournalBridge"], path: "Tests/Support"),
        .testTarget(name: "JournalBridgeTests", dependencies: ["JournalBridge", "JournalBridgeTestSupport"]),
        .testTarget(
            name: "JournalBridgeCollectorTests",
            dependencies: ["JournalBridgeCollector", "JournalBridgeTestSupport", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["JournalBridge", "JournalBridgeCollector", "JournalBridgeTestSupport", "journal-bridge"]
        ),
    ]
)
