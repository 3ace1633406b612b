import CJournalBridgeShims
#if canImport(Glibc)
import Glibc
#endif

/// A value behind a pthread mutex, with a condition variable on the monotonic clock:
/// the one lock of the package. (Not `Synchronization.Mutex`: on Linux it is a bare
/// futex that ThreadSanitizer cannot see, so every access it guards looks like a race.)
package final class ConditionLock<State>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var state: State

    package init(_ state: State) {
        self.state = state
        // Every pthread result is checked, as swift-log's `Lock` does: a failure here is a
        // broken invariant (a destroyed or corrupted mutex), never a condition to recover from.
        var attributes = pthread_mutexattr_t()
        checkPthread(pthread_mutexattr_init(&attributes), "pthread_mutexattr_init")
        #if DEBUG
        // As swift-log's `Lock`: in debug builds a misuse (unlocking what this thread does
        // not hold, locking twice) fails at once instead of deadlocking.
        checkPthread(
            pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ERRORCHECK)), "pthread_mutexattr_settype")
        #endif
        checkPthread(pthread_mutex_init(mutex, &attributes), "pthread_mutex_init")
        checkPthread(pthread_mutexattr_destroy(&attributes), "pthread_mutexattr_destroy")
        var conditionAttributes = pthread_condattr_t()
        checkPthread(pthread_condattr_init(&conditionAttributes), "pthread_condattr_init")
        checkPthread(pthread_condattr_setclock(&conditionAttributes, CLOCK_MONOTONIC), "pthread_condattr_setclock")
        checkPthread(pthread_cond_init(condition, &conditionAttributes), "pthread_cond_init")
        checkPthread(pthread_condattr_destroy(&conditionAttributes), "pthread_condattr_destroy")
    }

    deinit {
        checkPthread(pthread_cond_destroy(condition), "pthread_cond_destroy")
        checkPthread(pthread_mutex_destroy(mutex), "pthread_mutex_destroy")
        mutex.deallocate()
        condition.deallocate()
    }

    @inline(__always)
    package func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body(&state)
    }

    @inline(__always)
    private func lock() { checkPthread(pthread_mutex_lock(mutex), "pthread_mutex_lock") }

    @inline(__always)
    private func unlock() { checkPthread(pthread_mutex_unlock(mutex), "pthread_mutex_unlock") }

    /// Waits until `ready` holds or the deadline (monotonic nanoseconds) passes, then
    /// runs `body` with the lock held and whether `ready` holds. `willWait` runs before
    /// each sleep (to tell others that a signal is wanted).
    package func wait<R>(
        until ready: (State) -> Bool, deadline: UInt64? = nil, willWait: ((inout State) -> Void)? = nil,
        _ body: (inout State, Bool) throws -> R
    ) rethrows -> R {
        lock()
        defer { unlock() }
        while !ready(state) {
            willWait?(&state)
            if let deadline {
                let now = MonotonicClock.now()
                if now >= deadline { break }
                var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                let result = pthread_cond_timedwait(condition, mutex, &ts)
                precondition(result == 0 || result == ETIMEDOUT, "pthread_cond_timedwait failed: \(result)")
            } else {
                checkPthread(pthread_cond_wait(condition, mutex), "pthread_cond_wait")
            }
        }
        return try body(&state, ready(state))
    }

    package func broadcast() { checkPthread(pthread_cond_broadcast(condition), "pthread_cond_broadcast") }
}

/// A pthread call's result: 0, or the error it returns (pthread functions do not set errno).
@inline(__always)
package func checkPthread(_ result: Int32, _ call: StaticString) {
    precondition(result == 0, "\(call) failed: \(result)")
}
