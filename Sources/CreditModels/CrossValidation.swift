import CreditCore
import Foundation

/// Stratified, seeded k-fold assignment: within each class the rows are shuffled with the
/// seed and dealt to folds in turn, so every fold keeps the default rate (±1 row per class).
/// Returns each row's fold in `0..<k`.
public func stratifiedFolds(labels: [Bool], k: Int, seed: UInt64) throws -> [Int] {
    guard k >= 2 else { throw SplitError(description: "cross-validation needs at least 2 folds, got \(k)") }
    let pos = labels.filter { $0 }.count
    guard min(pos, labels.count - pos) >= k else {
        throw SplitError(description: "\(k)-fold cross-validation needs at least \(k) rows of each class "
            + "(\(pos) defaults, \(labels.count - pos) others); use fewer folds (--cv) or --validation F")
    }
    var rng = SplitMix64(seed: seed ^ 0x6366_6f6c_6473)   // "cfolds": not the split's stream
    var fold = [Int](repeating: 0, count: labels.count)
    var next = 0   // the second class continues where the first stopped, so fold sizes stay even
    for cls in [true, false] {
        var rows = labels.indices.filter { labels[$0] == cls }
        rows.shuffle(using: &rng)
        for r in rows { fold[r] = next; next = (next + 1) % k }
    }
    return fold
}

/// The default number of folds for `n` training rows (docs/models.md): a book under 1,000
/// rows gets 10 (each fold model sees 90 % of the few rows there are), others 5 (on the loan
/// book 3 folds left the out-of-fold models too weak: the threshold was chosen on predictions
/// worse than the refit's, test precision 0.801 against 0.805 with 5).
public func defaultFolds(rows n: Int) -> Int {
    n < 1_000 ? 10 : 5
}

/// One algorithm's cross-validation: out-of-fold probabilities of every training row and
/// each fold's ROC AUC and rounds (trees, epochs at the best validation loss).
public struct CrossValidationResult: Sendable {
    public var algorithm: String
    public var outOfFold: [Double]
    public var foldAUC: [Double]
    public var foldRounds: [Int?]
    public var fitSeconds: Double

    public init(algorithm: String, outOfFold: [Double], foldAUC: [Double], foldRounds: [Int?], fitSeconds: Double) {
        self.algorithm = algorithm
        self.outOfFold = outOfFold
        self.foldAUC = foldAUC
        self.foldRounds = foldRounds
        self.fitSeconds = fitSeconds
    }

    public var meanAUC: Double { Self.mean(foldAUC) }
    /// Sample standard deviation of the fold AUCs.
    public var sdAUC: Double { Self.sampleSD(foldAUC) }
    /// Standard error of the mean fold AUC.
    public var standardError: Double { sdAUC / Double(foldAUC.count).squareRoot() }

    static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }

    /// Sample standard deviation (n − 1), 0 for fewer than two values.
    static func sampleSD(_ xs: [Double]) -> Double {
        guard xs.count > 1 else { return 0 }
        let m = mean(xs)
        return (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)).squareRoot()
    }
    /// Rounds for the refit on all rows: the mean of the folds' best rounds scaled by
    /// k/(k−1) (the refit sees 1/(k−1) more rows), nil when the learner has none.
    public var refitRounds: Int? {
        let r = foldRounds.compactMap { $0 }
        guard !r.isEmpty else { return nil }
        let k = Double(foldAUC.count)
        return max(1, Int((Double(r.reduce(0, +)) / Double(r.count) * k / (k - 1)).rounded()))
    }
}

/// The one-standard-error rule: among the algorithms whose mean fold AUC is within one
/// standard error of the best one's, the simplest (lowest `complexity`). The candidates are
/// scored on the same folds, so the error is that of the paired fold differences (best − the
/// candidate): on a 700-row book the fold AUCs spread by ±0.07 with the fold's rows, alike for
/// every model, which the best model's own standard error counted as noise between the models
/// (docs/models.md, "Small books": it took logistic regression 0.04 AUC below the gbdt). A
/// validation slice (one "fold", no error) keeps the best.
public func oneStandardErrorChoice(_ results: [CrossValidationResult], complexity: (String) -> Int) -> Int {
    let scored = results.indices.filter { !results[$0].meanAUC.isNaN }
    guard let best = scored.max(by: { results[$0].meanAUC < results[$1].meanAUC }) else { return 0 }
    func withinOneError(_ i: Int) -> Bool {
        let a = results[best].foldAUC, b = results[i].foldAUC
        guard i != best, a.count == b.count, a.count > 1 else { return i == best || results[i].meanAUC >= results[best].meanAUC }
        let d = zip(a, b).map { $0 - $1 }
        return CrossValidationResult.mean(d) <= CrossValidationResult.sampleSD(d) / Double(d.count).squareRoot()
    }
    return scored.filter(withinOneError)
        .min { (complexity(results[$0].algorithm), -results[$0].meanAUC) < (complexity(results[$1].algorithm), -results[$1].meanAUC) }!
}
