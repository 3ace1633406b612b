import Logging

extension Logger.Level {
    /// The level's position, 0 (trace) ... 6 (critical): its code on the wire.
    package var ordinal: UInt8 {
        switch self {
        case .trace: 0
        case .debug: 1
        case .info: 2
        case .notice: 3
        case .warning: 4
        case .error: 5
        case .critical: 6
        }
    }

    package init?(ordinal: UInt8) {
        switch ordinal {
        case 0: self = .trace
        case 1: self = .debug
        case 2: self = .info
        case 3: self = .notice
        case 4: self = .warning
        case 5: self = .error
        case 6: self = .critical
        default: return nil
        }
    }

    /// Parses a level the way people type it on a command line or in a config:
    /// swift-log names, Python's (`WARN`, `FATAL`), any case.
    package init?(parsing text: String) {
        switch text.lowercased() {
        case "trace": self = .trace
        case "debug": self = .debug
        case "info": self = .info
        case "notice": self = .notice
        case "warning", "warn": self = .warning
        case "error", "err": self = .error
        case "critical", "crit", "fatal": self = .critical
        default: return nil
        }
    }
}
