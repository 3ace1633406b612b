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
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    @inline(__always)
    package func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// Waits until `ready` holds or the deadline (monotonic nanoseconds) passes, then
    /// runs `body` with the lock held and whether `ready` holds. `willWait` runs before
    /// each sleep (to tell others that a signal is wanted).
    package func wait<R>(
        until ready: (State) -> Bool, deadline: UInt64? = nil, willWait: ((inout State) -> Void)? = nil,
        _ body: (inout State, Bool) throws -> R
    ) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !ready(state) {
            willWait?(&state)
            if let deadline {
                let now = MonotonicClock.now()
                if now >= deadline { break }
                var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                pthread_cond_timedwait(condition, mutex, &ts)
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
        return try body(&state, ready(state))
    }

    package func broadcast() { pthread_cond_broadcast(condition) }
}

package enum MonotonicClock {
    @inline(__always)
    package static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    package static func deadline(after seconds: Double) -> UInt64 {
        now() &+ UInt64(max(0, seconds) * 1e9)
    }
}

/// Starts a named pthread running `body` (Foundation's Thread is not needed for that).
package func startThread(name: String, _ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        let name: String
        init(_ body: @escaping @Sendable () -> Void, _ name: String) {
            self.body = body
            self.name = name
        }
    }
    let box = Unmanaged.passRetained(Box(body, name)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(
        &thread, nil,
        { raw in
            let box = Unmanaged<AnyObject>.fromOpaque(raw!).takeRetainedValue() as! Box
            c_jb_set_thread_name(box.name)
            box.body()
            return nil
        }, box)
    precondition(result == 0, "pthread_create failed: \(result)")
    return thread
}
