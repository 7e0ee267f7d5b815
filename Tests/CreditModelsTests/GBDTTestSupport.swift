import CreditCore
import CreditModels
import Foundation

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
