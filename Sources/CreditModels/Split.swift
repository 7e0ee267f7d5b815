import CreditCore

/// Row indices of the fit, validation and test parts (each ascending).
public struct DataSplit: Sendable, Equatable {
    public var fit: [Int]
    public var validation: [Int]
    public var test: [Int]
}

public struct SplitError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Stratified split: within each class the rows are shuffled with the seed and cut by the
/// fractions (rounded per class), so every part keeps the default rate.
/// `validation + test` must be < 1; either may be 0.
public func stratifiedSplit(labels: [Bool], validation: Double, test: Double, seed: UInt64) throws -> DataSplit {
    guard validation >= 0, test >= 0, validation + test < 1 else {
        throw SplitError(description: "split fractions validation=\(validation) test=\(test): each must be >= 0 and their sum < 1")
    }
    var rng = SplitMix64(seed: seed)
    var split = DataSplit(fit: [], validation: [], test: [])
    for cls in [true, false] {
        var rows = labels.indices.filter { labels[$0] == cls }
        rows.shuffle(using: &rng)
        let nTest = Int((Double(rows.count) * test).rounded())
        let nVal = Int((Double(rows.count) * validation).rounded())
        split.test += rows[0..<nTest]
        split.validation += rows[nTest..<min(rows.count, nTest + nVal)]
        split.fit += rows[min(rows.count, nTest + nVal)...]
    }
    split.fit.sort(); split.validation.sort(); split.test.sort()
    return split
}
