// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "journal-bridge",
    products: [
        // What worker processes link: the record, BridgeLogHandler, RecordShipper and its configuration.
        // It does not need libsystemd.
        .library(name: "JournalBridge", targets: ["JournalBridge"]),
        // The collector: sinks (journald, rotating files, console), router, direct mode and `Collector`.
        .library(name: "JournalBridgeCollector", targets: ["JournalBridgeCollector"]),
        .executable(name: "journal-bridge", targets: ["journal-bridge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // Only the collector reports through swift-metrics; the worker library does not depend on it.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        // The forward sink's transports (TCP, TLS, RELP): the collector only, never the worker library.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // `swift package generate-documentation` (scripts/docs-check); nothing links it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
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
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        // Not products: what the `journal-bridge` command and the tests share.
        // The daemon: configuration file, systemd notify and watchdog, signals.
        .target(name: "JournalBridgeDaemon", dependencies: ["JournalBridge", "JournalBridgeCollector", "CSystemd"]),
        // The benchmark's measures: journald's ceiling, counting journal entries, RSS.
        .target(
            name: "JournalBridgeBenchmarks", dependencies: ["JournalBridge", "JournalBridgeCollector", "CSystemd"]),
        // Starting and reaping child processes (workers, the daemon under test).
        .target(name: "JournalBridgeProcess", dependencies: ["JournalBridge"]),
        .target(
            name: "JournalBridgeCLI",
            dependencies: [
                "JournalBridge",
                "JournalBridgeCollector",
                "JournalBridgeDaemon",
                "JournalBridgeBenchmarks",
                "JournalBridgeProcess",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "journal-bridge", dependencies: ["JournalBridgeCLI"]),
        // Helpers for the tests: journalctl read-back, real processes, temporary directories.
        .target(
            name: "JournalBridgeTestSupport",
            dependencies: ["JournalBridge", "JournalBridgeProcess"],
            path: "Tests/Support"
        ),
        // Links only the worker library: builds without libsystemd.
        .testTarget(name: "JournalBridgeTests", dependencies: ["JournalBridge", "JournalBridgeTestSupport"]),
        .testTarget(
            name: "JournalBridgeCollectorTests",
            dependencies: [
                "JournalBridgeCollector", "JournalBridgeDaemon", "JournalBridgeTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "JournalBridge", "JournalBridgeCollector", "JournalBridgeDaemon", "JournalBridgeBenchmarks",
                "JournalBridgeTestSupport", "journal-bridge",
            ]
        ),
    ]
)
