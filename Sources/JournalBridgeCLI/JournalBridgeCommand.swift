import ArgumentParser

public struct JournalBridgeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "journal-bridge",
        abstract: "One ordered, reliable log for many processes: swift-log records to journald and rotating files.",
        subcommands: [Send.self, Demo.self, DemoWorker.self]
    )

    public init() {}
}
