import Dispatch
import Foundation
import Synchronization

/// Fork-join over two threads with sub-microsecond hand-off, for learners that run many
/// small parallel steps (the GBDT learner: a node's histograms, the two children's split
/// searches, the loss/gradient pass; the MLP: the two halves of a mini-batch).
///
/// Why not `DispatchQueue.concurrentPerform`: it wakes a parked worker for every call
/// (~10–50 µs of futex and scheduler time). A GBDT tree has ~50 splits and a fit ~400 trees,
/// each parallel step a few microseconds of work, so that overhead made the two-thread fit
/// slower than the single-threaded one. Here one helper thread lives as long as the
/// `ForkJoin` (create one per fit) and spins on an atomic generation counter while work keeps
/// arriving (the gaps between steps are microseconds), then parks on a semaphore after
/// `spinLimit` empty polls (tens of microseconds), so an idle or contended fit does not burn
/// a core. This is how OpenMP runtimes (XGBoost, LightGBM) run their parallel loops.
///
/// `run(body)` calls `body(0)` on the caller's thread and `body(1)` on the helper, and
/// returns when both are done. Like `concurrentPerform`, the two calls may run at the same
/// time: they must touch disjoint state. Callers split work into two fixed parts, so results
/// never depend on timing, on the thread that runs a part or on whether a `ForkJoin` is used
/// at all. Not reentrant: one `run` at a time, from one thread.
///
/// On a busy machine the helper may not be on a core when work arrives (or it may be
/// parked). Whoever claims `body(1)` first runs it: when the caller finishes `body(0)` and the
/// helper has not started `body(1)` yet, the caller runs it itself instead of waiting for the
/// helper to be scheduled. And the spinning helper yields its core between polls once the
/// first burst of polls is over, so a descheduled caller (the thread with the work) gets it
/// back instead of competing with a helper that has nothing to do.
public final class ForkJoin: @unchecked Sendable {
    /// The body of the current `run`, as the helper sees it.
    private final class Task: @unchecked Sendable {
        let body: (Int) -> Void
        init(_ body: @escaping (Int) -> Void) { self.body = body }
    }

    /// What the caller and the helper share; the helper thread holds it (not the owner), so
    /// the owner's `deinit` can stop the helper.
    private final class Shared: @unchecked Sendable {
        let generation = Atomic<Int>(0)
        /// The last generation whose `body(1)` was claimed (by the helper or the caller).
        let claimed = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        let sleeping = Atomic<Bool>(false)
        let stopping = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
        let exited = DispatchSemaphore(value: 0)
        /// Written by the caller before `generation` is bumped (release), read by the helper
        /// after it sees the new generation (acquire). Unretained: the caller keeps the task
        /// alive until the helper has finished, and the helper never holds a reference of its
        /// own (so the body has not escaped when `run` returns).
        var task: Unmanaged<Task>?
        /// Empty polls before the helper parks.
        let spinLimit: Int
        /// Empty polls before the helper starts yielding its core between polls.
        static let pollsBeforeYield = 2_000

        init(spinLimit: Int) { self.spinLimit = spinLimit }

        /// Claims `body(1)` of generation `g` (from `g - 1`, the previous claim); false when
        /// the other thread has it.
        func claim(_ g: Int) -> Bool {
            claimed.compareExchange(expected: g - 1, desired: g, ordering: .sequentiallyConsistent).exchanged
        }

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
                    // A yield takes ~0.5 µs when no one else wants the core: count it as 64 polls.
                    if polls > Shared.pollsBeforeYield && polls < spinLimit { sched_yield(); polls += 63 }
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
                // The caller may have run body(1) already (then `task` may be gone or newer).
                guard claim(g) else { continue }
                task?._withUnsafeGuaranteedRef { $0.body(1) }
                finished.store(g, ordering: .releasing)
            }
            exited.signal()
        }
    }

    private let shared: Shared
    private let hasHelper: Bool

    /// Starts the helper thread (named `name`, as profilers show it). `spinLimit`: empty polls
    /// before the idle helper parks (tests lower it to exercise the wake-up path).
    public convenience init(name: String = "fork-join", spinLimit: Int = 200_000) {
        self.init(name: name, spinLimit: spinLimit, startingHelper: true)
    }

    /// `startingHelper` false: no helper thread at all (tests: a helper that is never
    /// scheduled; the caller then runs both parts).
    init(name: String, spinLimit: Int, startingHelper: Bool) {
        let shared = Shared(spinLimit: spinLimit)
        self.shared = shared
        hasHelper = startingHelper
        guard startingHelper else { return }
        let thread = Thread { shared.helperLoop() }
        thread.name = name
        thread.start()
    }

    deinit {
        guard hasHelper else { return }
        shared.stopping.store(true, ordering: .sequentiallyConsistent)
        _ = shared.bumpAndWake()
        shared.exited.wait()
    }

    /// Runs `body(0)` here and `body(1)` on the helper thread at the same time (or here, after
    /// `body(0)`, when the helper has not started it by then); returns when both returned.
    public func run(_ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            let task = Task(body)
            shared.task = Unmanaged.passUnretained(task)
            let g = shared.bumpAndWake()
            body(0)
            if shared.claim(g) {
                body(1)   // the helper has not started it: no waiting for it to be scheduled
            } else {
                var polls = 0
                while shared.finished.load(ordering: .acquiring) != g {
                    polls += 1
                    if polls > 4096 { sched_yield() }
                }
            }
            shared.task = nil
            withExtendedLifetime(task) {}
        }
    }
}
