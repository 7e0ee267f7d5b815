@testable import CreditCore
import Foundation
import Testing

@Suite("Fork-join")
struct ForkJoinTests {
    /// Every run executes both parts exactly once and returns only after both finished (the
    /// caller reads what part 1 wrote without waiting); part 1 runs on the helper thread
    /// unless the caller finished part 0 before the helper started part 1 (then the caller
    /// runs it).
    @Test("both parts run once per call; part 1 on the helper when it is free; results visible on return")
    func bothPartsRun() {
        final class Box: @unchecked Sendable {
            var values = [Int](repeating: 0, count: 2)
            var runs = [Int](repeating: 0, count: 2)
            var threads: [pthread_t?] = [nil, nil]
            var onHelper = 0
        }
        let pool = ForkJoin(spinLimit: 1_000)   // parks often: exercises the wake-up path
        let box = Box()
        let caller = pthread_self()
        for i in 1...20_000 {
            pool.run { part in
                box.values[part] = i * 10 + part
                box.runs[part] += 1
                box.threads[part] = pthread_self()
            }
            #expect(box.values == [i * 10, i * 10 + 1])
            #expect(box.runs == [i, i])
            if box.values != [i * 10, i * 10 + 1] || box.runs != [i, i] { break }
            #expect(box.threads[0] == caller, "part 0 runs on the calling thread")
            if i % 5_000 == 0 { usleep(2_000) }   // let the helper park, then wake it
        }
        // Part 0 takes 5 ms: the helper (woken at the start) has time to take part 1.
        for _ in 0..<20 {
            pool.run { part in
                if part == 0 { usleep(5_000) } else if pthread_self() != caller { box.onHelper += 1 }
            }
        }
        #expect(box.onHelper > 0, "part 1 ran on the helper thread")
    }

    /// A helper that never gets to run (a busy machine, at the extreme) must not hold the
    /// caller: it runs part 1 itself after part 0.
    @Test("with no helper running, the caller runs both parts and never waits")
    func callerTakesOver() {
        final class Box: @unchecked Sendable { var order: [Int] = [] }
        let pool = ForkJoin(name: "idle", spinLimit: 1_000, startingHelper: false)
        let box = Box()
        for _ in 0..<1_000 { pool.run { part in box.order.append(part) } }
        #expect(box.order == Array(repeating: [0, 1], count: 1_000).flatMap { $0 })
    }

    @Test("a pool that goes away stops its helper (no hang), many times over")
    func shutdown() {
        final class Counter: @unchecked Sendable { var n = 0 }
        let counter = Counter()
        for _ in 0..<200 {
            let pool = ForkJoin()
            pool.run { part in if part == 1 { counter.n += 1 } }
        }
        #expect(counter.n == 200)
    }
}
