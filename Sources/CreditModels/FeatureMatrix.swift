import CreditDomain

/// Model input: Float32, row-major, `rows × cols`, contiguous.
///
/// Two encodings come out of preprocessing (see `Preprocessor`):
/// - dense (logistic regression, MLP): imputed, standardized, one-hot; no NaN;
/// - native (trees): raw numeric values with NaN for missing; categorical columns hold the
///   category code (0..<cardinality) as a Float, NaN for missing, and `cardinality`
///   (one past the last code) for a category never seen in training.
public struct FeatureMatrix: Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    public var values: [Float]
    public var columns: [FeatureColumn]

    public init(rows: Int, columns: [FeatureColumn], values: [Float]) {
        precondition(values.count == rows * columns.count, "FeatureMatrix: \(values.count) values for \(rows)x\(columns.count)")
        self.rows = rows
        self.cols = columns.count
        self.values = values
        self.columns = columns
    }

    public subscript(row: Int, col: Int) -> Float {
        get { values[row * cols + col] }
        set { values[row * cols + col] = newValue }
    }

    /// The rows listed, in that order.
    public func selecting(rows list: [Int]) -> FeatureMatrix {
        var out = [Float]()
        out.reserveCapacity(list.count * cols)
        for r in list { out.append(contentsOf: values[(r * cols)..<((r + 1) * cols)]) }
        return FeatureMatrix(rows: list.count, columns: columns, values: out)
    }
}

/// One column of model input and where it comes from.
public struct FeatureColumn: Codable, Sendable, Equatable {
    public enum Kind: Codable, Sendable, Equatable {
        /// A number (standardized in the dense encoding, raw in the native one).
        case numeric
        /// Native encoding: a category code in 0..<cardinality.
        case categorical(cardinality: Int)
        /// Dense encoding: 1 when the source feature equals `category`, else 0.
        case oneHot(category: String)
        /// Dense encoding of an ordinal feature: 1 when its rank is at least `category`'s.
        case atLeast(category: String)
        /// Dense encoding: 1 when the source feature was missing before imputation.
        case missingIndicator
    }

    public var name: String
    /// The raw feature (spec name) this column is computed from; reason codes sum over it.
    public var source: String
    public var kind: Kind

    public init(name: String, source: String, kind: Kind) {
        self.name = name
        self.source = source
        self.kind = kind
    }
}

/// Labels and optional weights that go with a `FeatureMatrix` for training.
public struct LabeledMatrix: Sendable {
    public var x: FeatureMatrix
    /// 1 for default (positive class), 0 otherwise.
    public var y: [Float]
    /// Per-row weights (class balancing); nil means all 1.
    public var weights: [Float]?
    /// Per column: +1 the model must not fall as it rises, −1 must not rise, 0 free (the
    /// spec's monotone features, `Trainer.monotoneSigns`); nil: no constraint.
    public var monotone: [Int8]?

    public init(x: FeatureMatrix, y: [Float], weights: [Float]? = nil) {
        precondition(y.count == x.rows)
        precondition(weights == nil || weights!.count == x.rows)
        self.x = x
        self.y = y
        self.weights = weights
    }

    public var rows: Int { x.rows }

    public func selecting(rows list: [Int]) -> LabeledMatrix {
        var m = LabeledMatrix(x: x.selecting(rows: list), y: list.map { y[$0] },
                              weights: weights.map { w in list.map { w[$0] } })
        m.monotone = monotone
        return m
    }
}

/// A trained model over a `FeatureMatrix`: it turns rows into log-odds of default.
///
/// Kernels take input, output and a row range; output is caller-allocated and scratch
/// comes from `makeScratch`, so scoring a batch allocates nothing per row.
public protocol LogitModel: Sendable {
    /// Number of input columns expected.
    var inputWidth: Int { get }
    /// Reusable buffers for `logits`/`contributions`, sized for up to `maxRows` rows.
    func makeScratch(maxRows: Int) -> ModelScratch
    /// Writes the log-odds of rows `rows` of `input` (row-major, `inputWidth` per row)
    /// into `output[rows]`.
    func logits(_ input: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                rows: Range<Int>, scratch: ModelScratch)
    /// Additive contributions of each input column to one row's log-odds:
    /// `bias + sum(output) == logit(row)` (exact for linear models and trees,
    /// documented approximation for the MLP). `output.count == inputWidth`.
    /// Returns the bias (expected log-odds).
    func contributions(_ row: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                       scratch: ModelScratch) -> Float
}

/// Scratch memory owned by one scoring thread; never shared between threads.
open class ModelScratch: @unchecked Sendable {
    public let maxRows: Int
    public init(maxRows: Int) { self.maxRows = maxRows }
}
