import JournalBridgeCLI

JournalBridgeCommand.run()
