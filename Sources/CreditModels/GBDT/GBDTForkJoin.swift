import Dispatch
import Foundation
import Synchronization

/// Fork-join over two threads with sub-microsecond hand-off, for the GBDT learner's many
/// small parallel steps (a node's histogram, the two children's split searches, the
/// loss/gradient pass).
///
/// `DispatchQueue.concurrentPerform` wakes a parked worker for every call (~10–50 µs of
/// futex and scheduler time); a tree has ~50 splits and a fit ~400 trees, so that overhead
/// made the two-thread fit slower than the single-threaded one. Here one helper thread lives
/// for the whole fit and spins on an atomic generation counter while work keeps arriving
/// (the gaps inside a tree are microseconds), then parks on a semaphore after
/// `spinLimit` empty polls (tens of microseconds), so an idle or contended fit does not
/// burn a core. This is how OpenMP runtimes (XGBoost, LightGBM) run their parallel loops.
///
/// `run(body)` calls `body(0)` on the caller's thread and `body(1)` on the helper, and
/// returns when both are done; callers split work into two fixed parts, so results never
/// depend on timing. Not reentrant: one `run` at a time, from one thread.
final class GBDTForkJoin: @unchecked Sendable {
    /// What the caller and the helper share; the helper thread holds it (not the owner), so
    /// the owner's `deinit` can stop the helper.
    private final class Shared: @unchecked Sendable {
        let generation = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        let sleeping = Atomic<Bool>(false)
        let stopping = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
        let exited = DispatchSemaphore(value: 0)
        /// Written by the caller before `generation` is bumped (release), read by the helper
        /// after it sees the new generation (acquire).
        var task: (@Sendable (Int) -> Void)?
        /// Empty polls before the helper parks.
        let spinLimit: Int

        init(spinLimit: Int) { self.spinLimit = spinLimit }

        func bumpAndWake() -> Int {
            let g = generation.add(1, ordering: .sequentiallyConsistent).newValue
            if sleeping.exchange(false, ordering: .sequentiallyConsistent) { wake.signal() }
            return g
        }

        func helperLoop() {
            var seen = 0
            while true {
                var polls = 0
                var g = generation.load(ordering: .acquiring)
                while g == seen {
                    polls += 1
                    if polls >= spinLimit {
                        // Park. The caller's `exchange(false)` after its bump decides who consumes
                        // the wake-up: if it saw `true`, it signals and we must take that signal.
                        sleeping.store(true, ordering: .sequentiallyConsistent)
                        if generation.load(ordering: .sequentiallyConsistent) != seen {
                            if !sleeping.exchange(false, ordering: .sequentiallyConsistent) { wake.wait() }
                        } else {
                            wake.wait()
                        }
                        polls = 0
                    }
                    g = generation.load(ordering: .acquiring)
                }
                seen = g
                if stopping.load(ordering: .sequentiallyConsistent) { break }
                task?(1)
                finished.store(g, ordering: .releasing)
            }
            exited.signal()
        }
    }

    private let shared: Shared

    init(spinLimit: Int = 200_000) {
        let shared = Shared(spinLimit: spinLimit)
        self.shared = shared
        let thread = Thread { shared.helperLoop() }
        thread.name = "gbdt-fork-join"
        thread.start()
    }

    deinit {
        shared.stopping.store(true, ordering: .sequentiallyConsistent)
        _ = shared.bumpAndWake()
        shared.exited.wait()
    }

    /// Runs `body(0)` here and `body(1)` on the helper thread; returns when both returned.
    func run(_ body: @escaping @Sendable (Int) -> Void) {
        shared.task = body
        let g = shared.bumpAndWake()
        body(0)
        var polls = 0
        while shared.finished.load(ordering: .acquiring) != g {
            polls += 1
            if polls > 4096 { sched_yield() }
        }
        shared.task = nil
    }
}
