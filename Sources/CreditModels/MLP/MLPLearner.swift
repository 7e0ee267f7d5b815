import CreditCore
import Foundation

/// Bad training input for the MLP.
public struct MLPError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Multilayer perceptron learner (dense encoding): ReLU hidden layers, dropout, Adam on
/// mini-batches, optional decoupled weight decay, sample weights, early stopping on the
/// validation log loss with the best epoch's weights restored.
///
/// Deterministic: fixed operation order (also with `threads == 2`), all randomness (He init, shuffling,
/// dropout) from xoshiro256** (`CreditCore.Xoshiro256StarStar`) seeded with `seed` — same data + seed + build + kernel copy = same
/// model bit for bit. The dense kernels are dispatched at run time (`CreditCore.Kernels.variant`:
/// AVX2+FMA on CPUs that have it, else portable; `CREDIT_KERNELS=portable|haswell` overrides);
/// the AVX2+FMA copy fuses multiply-adds, so models trained on the two copies differ in the last
/// bits (and, through training, slightly more). On one machine with one setting the copy is fixed.
public struct MLPLearner: Learner {
    public static let algorithm = "mlp"
    public var encoding: InputEncoding { .dense }

    public struct Configuration: Codable, Sendable, Equatable {
        /// Quantile bins of the piecewise-linear expansion of each numeric input column
        /// (`PiecewiseLinearExpansion`); 0 feeds the inputs unchanged.
        public var numericBins: Int = 32
        /// Hidden layer widths.
        public var hiddenLayers: [Int] = [128, 64, 32]
        /// Dropout rate after each hidden layer during training.
        public var dropout: Float = 0.2
        public var learningRate: Float = 1e-3
        public var batchSize: Int = 256
        public var maxEpochs: Int = 200
        /// Epochs without a validation-loss improvement before stopping.
        public var patience: Int = 10
        /// Learning rate is multiplied by this after `patience / 3` epochs without improvement
        /// (1 disables).
        public var learningRateDecay: Float = 0.5
        /// Decoupled (AdamW) weight decay on weights, not biases.
        public var weightDecay: Float = 0
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-7
        /// Exponential moving average of the weights (Polyak averaging) used for validation and
        /// the returned model; 0 disables.
        public var weightAveraging: Float = 0.99
        /// Threads for the forward/backward pass of a batch: 1 or 2 (fixed split, fixed-order
        /// gradient sum; the model depends on this setting but never on timing).
        public var threads: Int = 1
        /// When the training data has no weights: weight each class by `rows / (2 · classRows)`.
        public var balanceClasses: Bool = false

        public init() {}
    }

    public var configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public static var complexity: Int { 3 }

    /// Exactly `rounds` epochs (a refit without a validation set).
    public func fixingRounds(_ rounds: Int) -> MLPLearner {
        var l = self
        l.configuration.maxEpochs = max(1, rounds)
        return l
    }

    public func fit(train: LabeledMatrix, validation: LabeledMatrix?, seed: UInt64,
                    progress: @escaping @Sendable (TrainingProgress) -> Void) throws -> MLPModel {
        try fitReportingRounds(train: train, validation: validation, seed: seed, progress: progress).0
    }

    public func fitReportingRounds(train: LabeledMatrix, validation: LabeledMatrix?, seed: UInt64,
                                   progress: @escaping @Sendable (TrainingProgress) -> Void) throws -> (MLPModel, Int?) {
        try validate(train, name: "train", width: train.x.cols)
        if let validation { try validate(validation, name: "validation", width: train.x.cols) }
        let c = configuration
        guard c.hiddenLayers.allSatisfy({ $0 > 0 }), c.batchSize > 0, c.maxEpochs > 0,
              c.dropout >= 0, c.dropout < 1, c.learningRate > 0 else {
            throw MLPError("MLP: invalid configuration \(c)")
        }
        // The expansion is fixed (fitted on the training rows); the layers train on expanded rows.
        let expansion = c.numericBins > 0 ? PiecewiseLinearExpansion(fitting: train.x, bins: c.numericBins) : nil
        func expanded(_ d: LabeledMatrix) -> LabeledMatrix {
            guard let expansion else { return d }
            var values = [Float](repeating: 0, count: d.rows * expansion.outputWidth)
            d.x.values.withUnsafeBufferPointer { x in
                values.withUnsafeMutableBufferPointer { expansion.expand(x, rows: 0..<d.rows, into: $0) }
            }
            let cols = (0..<expansion.outputWidth).map { FeatureColumn(name: "e\($0)", source: "e\($0)", kind: .numeric) }
            return LabeledMatrix(x: FeatureMatrix(rows: d.rows, columns: cols, values: values), y: d.y, weights: d.weights)
        }
        let trainX = expanded(train)
        var trainer = MLPTrainer(configuration: c, inputs: trainX.x.cols, seed: seed, batchCapacity: min(c.batchSize, train.rows))
        let weights = train.weights ?? (c.balanceClasses ? balancedWeights(train.y) : nil)
        let model = trainer.run(train: trainX, weights: weights, validation: validation.map(expanded), progress: progress)
        return (MLPModel(layers: model.layers, expansion: expansion), trainer.keptEpoch)
    }

    private func validate(_ data: LabeledMatrix, name: String, width: Int) throws {
        guard data.rows > 0 else { throw MLPError("MLP: \(name) set has no rows") }
        guard data.x.cols == width else {
            throw MLPError("MLP: \(name) set has \(data.x.cols) columns, training has \(width)")
        }
        for (i, v) in data.x.values.enumerated() where !v.isFinite {
            let r = i / width, col = i % width
            throw MLPError("MLP: \(name) row \(r), column '\(data.x.columns[col].name)': value \(v) is not finite (the dense encoding must be imputed)")
        }
        for (r, y) in data.y.enumerated() where y != 0 && y != 1 {
            throw MLPError("MLP: \(name) row \(r), label: value \(y) is not 0 or 1")
        }
        if let w = data.weights {
            for (r, v) in w.enumerated() where !(v >= 0 && v.isFinite) {
                throw MLPError("MLP: \(name) row \(r), weight: value \(v) is not a finite non-negative number")
            }
        }
    }

    private func balancedWeights(_ y: [Float]) -> [Float] {
        let pos = y.reduce(0) { $0 + Int($1) }, n = y.count
        guard pos > 0 && pos < n else { return [Float](repeating: 1, count: n) }
        let wp = Float(n) / Float(2 * pos), wn = Float(n) / Float(2 * (n - pos))
        return y.map { $0 == 1 ? wp : wn }
    }
}

