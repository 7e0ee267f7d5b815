@testable import CreditModels
import Foundation
import Testing

@Suite("GBDT fork-join")
struct GBDTForkJoinTests {
    /// Every run executes both parts exactly once, part 1 on another thread, and returns
    /// only after both finished (the caller reads what part 1 wrote without waiting).
    @Test("both parts run once per call, the second on the helper thread; results visible on return")
    func bothPartsRun() {
        final class Box: @unchecked Sendable {
            var values = [Int](repeating: 0, count: 2)
            var threads: [pthread_t?] = [nil, nil]
        }
        let pool = GBDTForkJoin(spinLimit: 1_000)   // parks often: exercises the wake-up path
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
            let pool = GBDTForkJoin()
            pool.run { part in if part == 1 { counter.n += 1 } }
        }
        #expect(counter.n == 200)
    }
}

@Suite("GBDT histogram bitmaps")
struct GBDTSparseHistogramTests {
    /// Wide features' histograms visit only marked bins (subtraction, split scan, clearing);
    /// that must give exactly the model of the dense path, for one and two threads, with
    /// missing values, row subsampling and per-node feature sampling.
    @Test("bitmap (sparse) histograms give the same model bytes as dense ones", arguments: [1, 2])
    func sparseEqualsDense(threads: Int) throws {
        let data = gbdtSynthetic(rows: 7000, seed: 41), valid = gbdtSynthetic(rows: 1500, seed: 42)
        var p = GBDTParameters()
        p.maxRounds = 50
        p.subsample = 0.8
        p.colsampleByNode = 0.8
        p.threads = threads
        func fit(sparseAbove: Int) throws -> GBDTModel {
            try GBDTTrainer(train: data, validation: valid, parameters: p, seed: 7, sparseAbove: sparseAbove).run { _ in }
        }
        let dense = try fit(sparseAbove: Int.max), sparseWide = try fit(sparseAbove: 1024), sparseAll = try fit(sparseAbove: 0)
        #expect(try gbdtEncode(sparseWide) == gbdtEncode(dense))
        #expect(try gbdtEncode(sparseAll) == gbdtEncode(dense))
        #expect(dense.treeCount > 10)
    }
}
