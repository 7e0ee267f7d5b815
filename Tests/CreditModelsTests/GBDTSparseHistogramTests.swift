@testable import CreditModels
import Foundation
import Testing

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
            try GBDTBooster(train: data, validation: valid, parameters: p, seed: 7, sparseAbove: sparseAbove).run { _ in }
        }
        let dense = try fit(sparseAbove: Int.max), sparseWide = try fit(sparseAbove: 1024), sparseAll = try fit(sparseAbove: 0)
        #expect(try gbdtEncode(sparseWide) == gbdtEncode(dense))
        #expect(try gbdtEncode(sparseAll) == gbdtEncode(dense))
        #expect(dense.treeCount > 10)
    }
}
