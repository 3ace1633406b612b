import CJournalBridgeShims
#if canImport(Glibc)
import Glibc
#endif

/// A named pthread that one object owns, joined once.
///
/// # The thread-owner rule
///
/// Every type that owns a thread (`RecordShipper`, `SinkQueue`, `BridgeInput`, `Collector`
/// through its inputs and routes, the daemon's `WatchdogPinger` and `ControlServer`, `ForwardSink` through its
/// link's NIO event loop) follows this one rule:
///
/// 1. **Start.** The thread starts in `init` or in `start()`, whichever the type documents,
///    through `OwnedThread.start` (or NIO's event loop group, which joins the same way).
/// 2. **Stop joins.** One method (`stop()`, `close()` or `shutdown()`) tells the thread to
///    end and joins it: when it returns, the thread has finished all its work. Calling it
///    again does nothing. It is never called from the owned thread itself.
/// 3. **deinit stops.** The thread's body holds only what it works on (its own state, a
///    lock, the sink), never its owner, so releasing the owner runs its `deinit`, which calls
///    that same stop: a forgotten stop costs a join, never a leaked thread or one left with a
///    dangling reference. The one exception says so where it is declared: `RecordShipper`'s
///    thread keeps its shipper alive on purpose (a shipper dropped without `shutdown()` still
///    delivers what it holds), so its `deinit` runs only after `shutdown()`.
package final class OwnedThread: Sendable {
    private let handle = ConditionLock<pthread_t?>(nil)

    /// No thread yet: `start` makes it (so that an owner can start it once fully initialised).
    package init() {}

    /// How the kernel schedules the thread.
    package enum Scheduling: Sendable {
        /// The process's policy, as any thread it starts.
        case inherited
        /// `SCHED_BATCH`: a bulk worker whose wake-ups never preempt the task running where it
        /// is woken; it runs when that task's slice ends or another CPU goes idle. For a thread
        /// woken by the very process it feeds (see `SinkQueue`). In place of the default policy
        /// only: one the process was given (idle, real time) stays.
        case batch
    }

    /// Starts `body` on a new thread named `name` (at most 15 bytes are kept) and scheduled as
    /// `scheduling` says; not while one runs (after `join`, again is fine: an owner whose start
    /// failed halfway may start again).
    package func start(name: String, scheduling: Scheduling = .inherited, _ body: @escaping @Sendable () -> Void) {
        handle.withLock { thread in
            precondition(thread == nil, "OwnedThread started while its thread runs")
            thread = startThread(name: name, scheduling: scheduling, body)
        }
    }

    /// Waits for the thread to finish; at once if it already was joined or never started. Called from the thread
    /// itself (its owner's last reference dropped there), it detaches the thread instead, which
    /// then ends as its body returns. True for the one call that ended it.
    @discardableResult
    package func join() -> Bool {
        guard
            let thread = handle.withLock({ thread -> pthread_t? in
                defer { thread = nil }; return thread
            })
        else { return false }
        if pthread_equal(thread, pthread_self()) != 0 {
            checkPthread(pthread_detach(thread), "pthread_detach")
        } else {
            checkPthread(pthread_join(thread, nil), "pthread_join")
        }
        return true
    }

    /// Whether the caller runs on this thread (an owner released there cannot wait for it).
    package var isCurrent: Bool {
        handle.withLock { thread in thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// Started and not yet joined.
    package var isRunning: Bool { handle.withLock { $0 != nil } }
}

/// Starts a named pthread, scheduled as `scheduling` says, running `body` (Foundation's Thread
/// is not needed for that).
private func startThread(
    name: String, scheduling: OwnedThread.Scheduling, _ body: @escaping @Sendable () -> Void
) -> pthread_t {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        let name: String
        let scheduling: OwnedThread.Scheduling
        init(_ body: @escaping @Sendable () -> Void, _ name: String, _ scheduling: OwnedThread.Scheduling) {
            self.body = body
            self.name = name
            self.scheduling = scheduling
        }
    }
    let box = Unmanaged.passRetained(Box(body, name, scheduling)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(
        &thread, nil,
        { raw in
            let box = Unmanaged<AnyObject>.fromOpaque(raw!).takeRetainedValue() as! Box
            c_jb_set_thread_name(box.name)
            if case .batch = box.scheduling {
                // A hint, not a need: where it is refused (a seccomp filter without @resources
                // answers EPERM), the thread keeps the process's policy and works the same.
                _ = c_jb_set_thread_batch_scheduling()
            }
            box.body()
            return nil
        }, box)
    // Without a thread the owner cannot work at all (EAGAIN: the process's thread limit).
    checkPthread(result, "pthread_create")
    return thread
}
