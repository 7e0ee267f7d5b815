import CreditDomain

/// Statistics of one feature, measured on the training (fit) rows only.
public struct FeatureStats: Codable, Sendable, Equatable {
    public var name: String
    public var kind: FeatureKind
    /// Rows measured and how many of them were missing.
    public var rows: Int
    public var missing: Int
    /// Numeric: median of the observed values (the imputation value; 0 when none observed),
    /// and mean / standard deviation of the imputed column (std 1 when constant).
    public var median: Double?
    public var mean: Double?
    public var std: Double?
    /// Categorical: categories seen in training (sorted; a cleaner's "unknown" is one of
    /// them when it occurred), their counts, and the most frequent one.
    public var categories: [String]?
    public var counts: [Int]?
    public var mode: String?
    /// Ordinal (the spec gives an `order`): `categories` are in that order, lowest first, and
    /// the encodings use the rank (docs/models.md). Nil for a nominal feature.
    public var ordered: Bool?

    /// Whether this is an ordinal categorical feature.
    public var isOrdinal: Bool { ordered == true }

    /// Whether the dense encoding has a missing-indicator column for this feature
    /// (only when training rows had missing values).
    public var hasMissingIndicator: Bool { missing > 0 }
}

public struct PreprocessingError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Preprocessing fitted on the training rows only; travels in the model artifact.
///
/// Input: a cleaned `DataTable` (features named and ordered by the `DatasetSpec`). Output:
/// a `FeatureMatrix` in one of two encodings:
/// - `.dense` (logistic regression, MLP): per numeric feature one standardized column
///   (missing → training median, then `(x - mean) / std`) plus a 0/1 missing-indicator
///   column when the feature had missing values in training; per categorical feature one
///   one-hot column per category seen in training (an unseen category → all zeros) plus a
///   missing-indicator column when training had missing values (else missing → the mode).
/// - `.native` (trees): raw numbers with NaN for missing; categories as codes
///   0..<cardinality (sorted training categories), NaN for missing, `cardinality` for unseen.
/// - An ordinal feature (the spec gives an `order`) is one number, its rank: natively the rank
///   as a numeric column (NaN for missing, unseen or outside the order); densely cumulative
///   0/1 columns `name>=c` for every rank above the lowest (so a model monotone in the rank
///   is one whose weights on them share a sign), with missing as for any category.
///
/// Non-finite numbers (±inf) are treated as missing here; `ScoringModel` reports them as
/// row errors before they reach preprocessing.
public struct Preprocessor: Codable, Sendable, Equatable {
    public var features: [FeatureStats]

    public init(features: [FeatureStats]) { self.features = features }

    /// Fits on `rows` of a cleaned `table` (the fit rows of the split; never validation or
    /// test rows): one `FeatureStats` per schema feature, in schema order, of its compiled kind.
    public static func fit(table: DataTable, schema: Schema, rows: [Int]) throws -> Preprocessor {
        var out: [FeatureStats] = []
        for f in schema.features {
            guard let col = table.column(named: f.name) else {
                throw PreprocessingError(description: "feature \(f.name) is not a column of the cleaned table")
            }
            let kind = f.kind
            switch (kind, col.values) {
            case (.numeric, .numeric(let v)):
                var observed: [Double] = []
                observed.reserveCapacity(rows.count)
                for r in rows { if let x = v[r], x.isFinite { observed.append(x) } }
                observed.sort()
                let n = observed.count
                let median = n == 0 ? 0 : (n % 2 == 1 ? observed[n / 2] : (observed[n / 2 - 1] + observed[n / 2]) / 2)
                let missing = rows.count - n
                var sum = 0.0
                for x in observed { sum += x }
                sum += Double(missing) * median
                let mean = rows.isEmpty ? 0 : sum / Double(rows.count)
                var ss = 0.0
                for x in observed { ss += (x - mean) * (x - mean) }
                ss += Double(missing) * (median - mean) * (median - mean)
                var std = rows.isEmpty ? 1 : (ss / Double(rows.count)).squareRoot()
                if !(std > 1e-12) { std = 1 }
                out.append(FeatureStats(name: f.name, kind: .numeric, rows: rows.count, missing: missing,
                                        median: median, mean: mean, std: std))
            case (.categorical, .categorical(let v)):
                var counts: [String: Int] = [:]
                var missing = 0
                for r in rows {
                    if let c = v[r] { counts[c, default: 0] += 1 } else { missing += 1 }
                }
                var cats = counts.keys.sorted()
                if let order = f.order {
                    // Ordinal: the ordered values seen, lowest first; a value outside the order
                    // (the cleaner's "unknown") has no rank and counts as missing.
                    cats = order.filter { counts[$0] != nil }
                    missing += counts.filter { !order.contains($0.key) }.values.reduce(0, +)
                }
                let mode = cats.max { (counts[$0]!, $1) < (counts[$1]!, $0) }  // most frequent, then first name
                out.append(FeatureStats(name: f.name, kind: .categorical, rows: rows.count, missing: missing,
                                        categories: cats, counts: cats.map { counts[$0]! }, mode: mode,
                                        ordered: f.order != nil ? true : nil))
            default:
                throw PreprocessingError(description: "feature \(f.name) is \(kind.rawValue) in the spec but the cleaned column is \(col.kind.rawValue)")
            }
        }
        return Preprocessor(features: out)
    }

    /// `fit(table:schema:rows:)` with the spec compiled against the cleaned table.
    public static func fit(table: DataTable, spec: DatasetSpec, rows: [Int]) throws -> Preprocessor {
        try fit(table: table, schema: Schema(spec: spec, table: table), rows: rows)
    }

    public func stats(named name: String) -> FeatureStats? { features.first { $0.name == name } }

    /// The model input columns of an encoding, in order.
    public func columns(_ encoding: InputEncoding) -> [FeatureColumn] { plan(encoding).columns }

    /// Compiles the flat plan used by every transform (table or columnar).
    public func plan(_ encoding: InputEncoding) -> FeaturePlan { FeaturePlan(preprocessor: self, encoding: encoding) }

    /// Transforms `rows` (all when nil) of a cleaned table into a feature matrix.
    public func transform(_ table: DataTable, encoding: InputEncoding, rows: [Int]? = nil) throws -> FeatureMatrix {
        let plan = plan(encoding)
        let list = rows ?? Array(0..<table.rowCount)
        var numeric: [[Double]] = []
        var codes: [[Int32]] = []
        for f in features {
            guard let col = table.column(named: f.name) else {
                throw PreprocessingError(description: "feature \(f.name) is not a column of the table")
            }
            switch (f.kind, col.values) {
            case (.numeric, .numeric(let v)):
                numeric.append(list.map { v[$0] ?? .nan })
            case (.categorical, .categorical(let v)):
                let k = codes.count
                codes.append(list.map { plan.code(v[$0], categorical: k) })
            default:
                throw PreprocessingError(description: "feature \(f.name) is \(f.kind.rawValue) but the column is \(col.kind.rawValue)")
            }
        }
        var values = [Float](repeating: 0, count: list.count * plan.width)
        withBuffers(numeric) { num in
            withBuffers(codes) { cat in
                values.withUnsafeMutableBufferPointer { out in
                    plan.transform(numeric: num, categorical: cat, rows: 0..<list.count, into: out)
                }
            }
        }
        return FeatureMatrix(rows: list.count, columns: plan.columns, values: values)
    }
}

/// Calls `body` with unsafe buffers over each array (kept alive for the call).
func withBuffers<T, R>(_ arrays: [[T]], _ body: ([UnsafeBufferPointer<T>]) throws -> R) rethrows -> R {
    var buffers: [UnsafeBufferPointer<T>] = []
    buffers.reserveCapacity(arrays.count)
    func step(_ i: Int) throws -> R {
        if i == arrays.count { return try body(buffers) }
        return try arrays[i].withUnsafeBufferPointer { b in
            buffers.append(b)
            return try step(i + 1)
        }
    }
    return try step(0)
}

/// A compiled, allocation-free transform from columnar, *cleaned* inputs to model input.
///
/// Inputs are one buffer per numeric feature (`numericFeatures` order; NaN = missing) and
/// one buffer of category codes per categorical feature (`categoricalFeatures` order; codes
/// from `code(_:categorical:)`: -1 missing, 0..<cardinality seen in training, `cardinality`
/// unseen). `transform` writes rows `rows` of those buffers to `out`, row-major,
/// `width` floats per row, starting at `out[0]`. Nothing is allocated per call or per row,
/// so a server can reuse one output buffer for every batch.
public struct FeaturePlan: Sendable {
    public let encoding: InputEncoding
    public let columns: [FeatureColumn]
    public var width: Int { columns.count }
    public let numericFeatures: [String]
    public let categoricalFeatures: [String]

    // Numeric input j.
    let numOffset: [Int]
    let numMedian: [Double]
    let numMean: [Double]
    let numInvStd: [Double]
    let numIndicator: [Int]        // column of the missing indicator, -1 none
    // Categorical input k.
    let catOffset: [Int]           // first one-hot column (dense) or the code column (native)
    let catCardinality: [Int]
    let catMissingColumn: [Int]    // dense: missing-indicator column, -1 none
    let catModeCode: [Int32]       // dense: code imputed for missing when there is no indicator, -1 none
    let catLookup: [[String: Int32]]
    let catOrdinal: [Bool]

    init(preprocessor: Preprocessor, encoding: InputEncoding) {
        self.encoding = encoding
        var cols: [FeatureColumn] = []
        var numericFeatures: [String] = [], categoricalFeatures: [String] = []
        var numOffset: [Int] = [], numMedian: [Double] = [], numMean: [Double] = [], numInvStd: [Double] = [], numIndicator: [Int] = []
        var catOffset: [Int] = [], catCardinality: [Int] = [], catMissingColumn: [Int] = [], catModeCode: [Int32] = []
        var catLookup: [[String: Int32]] = []
        var catOrdinal: [Bool] = []
        for f in preprocessor.features {
            switch f.kind {
            case .numeric:
                numericFeatures.append(f.name)
                numOffset.append(cols.count)
                numMedian.append(f.median ?? 0)
                numMean.append(f.mean ?? 0)
                numInvStd.append(1 / (f.std ?? 1))
                cols.append(FeatureColumn(name: f.name, source: f.name, kind: .numeric))
                if encoding == .dense && f.hasMissingIndicator {
                    numIndicator.append(cols.count)
                    cols.append(FeatureColumn(name: "\(f.name)#missing", source: f.name, kind: .missingIndicator))
                } else {
                    numIndicator.append(-1)
                }
            case .categorical:
                let cats = f.categories ?? []
                categoricalFeatures.append(f.name)
                catCardinality.append(cats.count)
                var lookup: [String: Int32] = [:]
                for (i, c) in cats.enumerated() { lookup[c] = Int32(i) }
                catLookup.append(lookup)
                catOffset.append(cols.count)
                catOrdinal.append(f.isOrdinal)
                if encoding == .dense {
                    if f.isOrdinal {
                        for c in cats.dropFirst() { cols.append(FeatureColumn(name: "\(f.name)>=\(c)", source: f.name, kind: .atLeast(category: c))) }
                    } else {
                        for c in cats { cols.append(FeatureColumn(name: "\(f.name)=\(c)", source: f.name, kind: .oneHot(category: c))) }
                    }
                    if f.hasMissingIndicator {
                        catMissingColumn.append(cols.count)
                        catModeCode.append(-1)
                        cols.append(FeatureColumn(name: "\(f.name)#missing", source: f.name, kind: .missingIndicator))
                    } else {
                        catMissingColumn.append(-1)
                        catModeCode.append(f.mode.flatMap { lookup[$0] } ?? -1)
                    }
                } else {
                    catMissingColumn.append(-1)
                    catModeCode.append(-1)
                    cols.append(FeatureColumn(name: f.name, source: f.name,
                                              kind: f.isOrdinal ? .numeric : .categorical(cardinality: cats.count)))
                }
            }
        }
        self.columns = cols
        self.numericFeatures = numericFeatures
        self.categoricalFeatures = categoricalFeatures
        self.numOffset = numOffset; self.numMedian = numMedian; self.numMean = numMean
        self.numInvStd = numInvStd; self.numIndicator = numIndicator
        self.catOffset = catOffset; self.catCardinality = catCardinality
        self.catMissingColumn = catMissingColumn; self.catModeCode = catModeCode; self.catLookup = catLookup
        self.catOrdinal = catOrdinal
    }

    /// The code of a cleaned category of categorical input `k`: -1 for missing (nil),
    /// its index among the training categories, or `cardinality` when unseen in training.
    @inlinable
    public func code(_ category: String?, categorical k: Int) -> Int32 {
        guard let category else { return -1 }
        return lookupCode(category, k)
    }

    @usableFromInline
    func lookupCode(_ category: String, _ k: Int) -> Int32 {
        catLookup[k][category] ?? Int32(catCardinality[k])
    }

    /// Writes model input for `rows` of the input buffers into `out` (row-major, `width`
    /// per row, first row at `out[0]`); `out.count >= rows.count * width`.
    public func transform(numeric: [UnsafeBufferPointer<Double>], categorical: [UnsafeBufferPointer<Int32>],
                          rows: Range<Int>, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(numeric.count == numericFeatures.count && categorical.count == categoricalFeatures.count,
                     "FeaturePlan.transform: expected \(numericFeatures.count) numeric and \(categoricalFeatures.count) categorical inputs")
        precondition(out.count >= rows.count * width, "FeaturePlan.transform: output buffer too small")
        let w = width
        guard let base = out.baseAddress else { return }
        if encoding == .dense {
            (base).update(repeating: 0, count: rows.count * w)
        }
        for j in 0..<numeric.count {
            let input = numeric[j]
            let off = numOffset[j]
            if encoding == .native {
                for (i, r) in rows.enumerated() {
                    let x = input[r]
                    base[i * w + off] = x.isFinite ? Float(x) : .nan
                }
            } else {
                let med = numMedian[j], mean = numMean[j], inv = numInvStd[j], ind = numIndicator[j]
                for (i, r) in rows.enumerated() {
                    var x = input[r]
                    if !x.isFinite {
                        x = med
                        if ind >= 0 { base[i * w + ind] = 1 }
                    }
                    base[i * w + off] = Float((x - mean) * inv)
                }
            }
        }
        for k in 0..<categorical.count {
            let input = categorical[k]
            let off = catOffset[k], card = Int32(catCardinality[k])
            let ordinal = catOrdinal[k]
            if encoding == .native {
                for (i, r) in rows.enumerated() {
                    let c = input[r]
                    base[i * w + off] = c < 0 || (ordinal && c >= card) ? .nan : Float(min(c, card))
                }
            } else {
                let miss = catMissingColumn[k], mode = catModeCode[k]
                for (i, r) in rows.enumerated() {
                    var c = input[r]
                    if c < 0 || (ordinal && c >= card) {   // an ordinal value without a rank is missing
                        if miss >= 0 { base[i * w + miss] = 1; continue }
                        c = mode
                    }
                    if ordinal {
                        if c > 0 { for j in 0..<Int(c) { base[i * w + off + j] = 1 } }   // columns >= rank 1 … c
                    } else if c >= 0 && c < card {
                        base[i * w + off + Int(c)] = 1
                    }
                }
            }
        }
    }
}
