import JournalBridge
import Logging

/// Fair share per source: at most `burst` records per `interval` seconds from one source
/// (told apart by `key`); records at or above `exemptLevel` are never limited. A burst of 0
/// turns the limit off.
package struct RateLimit: Sendable, Equatable {
    package enum Key: String, Sendable, CaseIterable {
        case unit, uid, identifier
    }

    package var interval: Double
    package var burst: Int
    package var exemptLevel: Logger.Level?
    package var key: Key

    package init(interval: Double = 30, burst: Int = 0, exemptLevel: Logger.Level? = .warning, key: Key = .unit) {
        self.interval = interval
        self.burst = burst
        self.exemptLevel = exemptLevel
        self.key = key
    }

    package var isOn: Bool { burst > 0 && interval > 0 }
}
