import JournalBridgeCLI

JournalBridgeCommand.main()
