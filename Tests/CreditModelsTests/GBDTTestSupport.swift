import CreditCore
import CreditModels
import Foundation

/// Seeded SplitMix64 for the GBDT tests' synthetic data.
struct GBDTTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}

/// ROC AUC of Float logits against 0/1 labels (via the metrics module).
func gbdtROCAUC(_ scores: [Float], _ y: [Float]) -> Double {
    Metrics.rocAUC(scores: scores.map(Double.init), labels: y.map { $0 == 1 })
}

extension LogitModel {
    /// Logits of all rows of `x` with the batched evaluator.
    func gbdtScores(_ x: FeatureMatrix) -> [Float] {
        var out = [Float](repeating: 0, count: x.rows)
        let scratch = makeScratch(maxRows: x.rows)
        x.values.withUnsafeBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o in logits(inp, o, rows: 0..<x.rows, scratch: scratch) }
        }
        return out
    }
}
