// swift-tools-version:6.0
// A program that logs through the journal-bridge daemon: the library as a user adds it.
// (A real project names the repository URL and a version instead of the path.)
import PackageDescription

let package = Package(
    name: "hello-bridge",
    dependencies: [
        .package(name: "journal-bridge", path: "../.."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "hello-bridge",
            dependencies: [
                .product(name: "JournalBridge", package: "journal-bridge"),
                .product(name: "Logging", package: "swift-log"),
            ]
        )
    ]
)
