import CreditCore
import Foundation
import Testing

@Suite("Fork-join")
struct ForkJoinTests {
    /// Every run executes both parts exactly once, part 1 on another thread, and returns
    /// only after both finished (the caller reads what part 1 wrote without waiting).
    @Test("both parts run once per call, the second on the helper thread; results visible on return")
    func bothPartsRun() {
        final class Box: @unchecked Sendable {
            var values = [Int](repeating: 0, count: 2)
            var threads: [pthread_t?] = [nil, nil]
        }
        let pool = ForkJoin(spinLimit: 1_000)   // parks often: exercises the wake-up path
        let box = Box()
        for i in 1...20_000 {
            pool.run { part in
                box.values[part] = i * 10 + part
                box.threads[part] = pthread_self()
            }
            #expect(box.values == [i * 10, i * 10 + 1])
            if box.values != [i * 10, i * 10 + 1] { break }
            if i % 5_000 == 0 { usleep(2_000) }   // let the helper park, then wake it
        }
        #expect(box.threads[0] == pthread_self(), "part 0 runs on the calling thread")
        #expect(box.threads[1] != nil && box.threads[1] != pthread_self(), "part 1 runs on the helper thread")
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
