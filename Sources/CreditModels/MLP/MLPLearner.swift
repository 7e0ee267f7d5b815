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
/// Deterministic: one thread, fixed operation order, all randomness (He init, shuffling,
/// dropout) from xoshiro256** seeded with `seed` — same data + seed + build = same model bit for
/// bit. (A build with `-DCREDIT_FMA` fuses multiply-adds, so its models differ in the last bits
/// from a baseline build.)
public struct MLPLearner: Learner {
    public static let algorithm = "mlp"
    public var encoding: InputEncoding { .dense }

    public struct Configuration: Codable, Sendable, Equatable {
        /// Quantile bins of the piecewise-linear expansion of each numeric input column
        /// (`PiecewiseLinearExpansion`); 0 feeds the inputs unchanged.
        public var numericBins: Int = 16
        /// Hidden layer widths.
        public var hiddenLayers: [Int] = [128, 64, 32]
        /// Dropout rate after each hidden layer during training.
        public var dropout: Float = 0.2
        public var learningRate: Float = 1e-3
        public var batchSize: Int = 256
        public var maxEpochs: Int = 200
        /// Epochs without a validation-loss improvement before stopping.
        public var patience: Int = 15
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
        /// When the training data has no weights: weight each class by `rows / (2 · classRows)`.
        public var balanceClasses: Bool = false

        public init() {}
    }

    public var configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public func fit(train: LabeledMatrix, validation: LabeledMatrix?, seed: UInt64,
                    progress: @escaping @Sendable (TrainingProgress) -> Void) throws -> MLPModel {
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
        var trainer = MLPTrainer(configuration: c, inputs: trainX.x.cols, seed: seed)
        let weights = train.weights ?? (c.balanceClasses ? balancedWeights(train.y) : nil)
        let model = trainer.run(train: trainX, weights: weights, validation: validation.map(expanded), progress: progress)
        return MLPModel(layers: model.layers, expansion: expansion)
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

/// Parameters and optimizer state of one layer during training (all packed like the weights).
struct TrainLayer {
    var weights: PackedMatrix
    var bias: [Float]
    var gradW: PackedMatrix
    var gradB: [Float]
    var mW, vW: [Float]
    var mB, vB: [Float]
    var transposed: PackedMatrix
    /// Moving averages of `weights.storage` and `bias` (see `Configuration.weightAveraging`).
    var avgW: [Float]
    var avgB: [Float]

    mutating func average(_ d: Float) {
        weights.storage.withUnsafeBufferPointer { w in
            avgW.withUnsafeMutableBufferPointer { a in
                for i in 0..<a.count { a[i] = d * a[i] + (1 - d) * w[i] }
            }
        }
        for i in 0..<avgB.count { avgB[i] = d * avgB[i] + (1 - d) * bias[i] }
    }

    /// One Adam step on weights (with decoupled decay) and biases, then `Wᵀ` refresh.
    mutating func adam(stepSize: Float, invBc2: Float, b1: Float, b2: Float, eps: Float, decay: Float) {
        func update(_ w: UnsafeMutableBufferPointer<Float>, _ g: UnsafeBufferPointer<Float>,
                    _ m: UnsafeMutableBufferPointer<Float>, _ v: UnsafeMutableBufferPointer<Float>, decay: Float) {
            for i in 0..<w.count {
                let gi = g[i]
                let mi = b1 * m[i] + (1 - b1) * gi
                let vi = b2 * v[i] + (1 - b2) * gi * gi
                m[i] = mi; v[i] = vi
                w[i] -= stepSize * mi / ((vi * invBc2).squareRoot() + eps) + decay * w[i]
            }
        }
        weights.storage.withUnsafeMutableBufferPointer { w in
            gradW.storage.withUnsafeBufferPointer { g in
                mW.withUnsafeMutableBufferPointer { m in
                    vW.withUnsafeMutableBufferPointer { v in update(w, g, m, v, decay: decay) }
                }
            }
        }
        bias.withUnsafeMutableBufferPointer { w in
            gradB.withUnsafeBufferPointer { g in
                mB.withUnsafeMutableBufferPointer { m in
                    vB.withUnsafeMutableBufferPointer { v in update(w, g, m, v, decay: 0) }
                }
            }
        }
        weights.transpose(into: &transposed)
    }
}

/// Mini-batch Adam training loop over `CreditCore` kernels. Buffers are allocated once per fit.
struct MLPTrainer {
    let c: MLPLearner.Configuration
    let sizes: [Int]
    var layers: [TrainLayer]
    var rng: MLPRandom

    init(configuration: MLPLearner.Configuration, inputs: Int, seed: UInt64) {
        c = configuration
        sizes = [inputs] + configuration.hiddenLayers + [1]
        rng = MLPRandom(seed: seed)
        layers = []
        for l in 0..<(sizes.count - 1) {
            let k = sizes[l], n = sizes[l + 1]
            var w = PackedMatrix(k: k, n: n)
            let scale = (2.0 / Double(k)).squareRoot()      // He normal
            for i in 0..<k { for j in 0..<n { w[i, j] = Float(rng.nextGaussian() * scale) } }
            let zerosW = [Float](repeating: 0, count: w.storage.count), zerosB = [Float](repeating: 0, count: n)
            layers.append(TrainLayer(weights: w, bias: zerosB, gradW: PackedMatrix(k: k, n: n), gradB: zerosB,
                                     mW: zerosW, vW: zerosW, mB: zerosB, vB: zerosB, transposed: w.transposed(),
                                     avgW: w.storage, avgB: zerosB))
        }
    }

    /// The current model: the averaged weights when averaging is on.
    func snapshot() -> MLPModel {
        MLPModel(layers: layers.enumerated().map { l, t in
            var w = t.weights
            if c.weightAveraging > 0 { w.storage = t.avgW }
            return MLPLayer(weights: w, bias: c.weightAveraging > 0 ? t.avgB : t.bias,
                            activation: l == layers.count - 1 ? .identity : .relu)
        })
    }

    mutating func run(train: LabeledMatrix, weights: [Float]?, validation: LabeledMatrix?,
                      progress: @Sendable (TrainingProgress) -> Void) -> MLPModel {
        let n = train.rows, k = sizes[0], bs = min(c.batchSize, n)
        let L = layers.count
        // Batch buffers: input rows, per-layer outputs, per-layer output gradients, dropout masks.
        var xb = [Float](repeating: 0, count: bs * k)
        var yb = [Float](repeating: 0, count: bs), wb = [Float](repeating: 0, count: bs)
        var acts = (1..<sizes.count).map { [Float](repeating: 0, count: bs * sizes[$0]) }
        var grads = acts
        var masks = (1..<(sizes.count - 1)).map { [Float](repeating: 0, count: bs * sizes[$0]) }
        var order = Array(0..<n)
        var best = snapshot(), bestLoss = Double.infinity, bestEpoch = 0
        var lr = c.learningRate
        var sinceImprovement = 0, sinceDecay = 0
        var step = 0
        let keep = 1 - c.dropout, invKeep = 1 / (1 - c.dropout)
        let valScratch = validation.map { _ in best.makeScratch(maxRows: 1024) }
        var valLogits = [Float](repeating: 0, count: validation?.rows ?? 0)

        for epoch in 1...c.maxEpochs {
            rng.shuffle(&order)
            var lossSum = 0.0, weightSum = 0.0
            var start = 0
            while start < n {
                let count = min(bs, n - start)
                // Gather the batch.
                var wTotal: Float = 0
                train.x.values.withUnsafeBufferPointer { src in
                    xb.withUnsafeMutableBufferPointer { dst in
                        for r in 0..<count {
                            let row = order[start + r]
                            for i in 0..<k { dst[r * k + i] = src[row * k + i] }
                            yb[r] = train.y[row]
                            wb[r] = weights?[row] ?? 1
                            wTotal += wb[r]
                        }
                    }
                }
                // Dropout masks (keep → 1/keep, drop → 0).
                if c.dropout > 0 {
                    for m in 0..<masks.count {
                        masks[m].withUnsafeMutableBufferPointer { mb in
                            for i in 0..<(count * sizes[m + 1]) { mb[i] = rng.nextUnitFloat() < keep ? invKeep : 0 }
                        }
                    }
                }
                // Forward.
                for l in 0..<L {
                    let width = sizes[l + 1], kin = sizes[l]
                    let isOutput = l == L - 1
                    let inBuf = l == 0 ? xb : acts[l - 1]
                    inBuf.withUnsafeBufferPointer { ib in
                        layers[l].bias.withUnsafeBufferPointer { b in
                            acts[l].withUnsafeMutableBufferPointer { ob in
                                denseForward(ib, inputStride: kin, weights: layers[l].weights, bias: b,
                                             activation: isOutput ? .identity : .relu, ob, outputStride: width, rows: 0..<count)
                            }
                        }
                    }
                    if !isOutput && c.dropout > 0 {
                        masks[l].withUnsafeBufferPointer { mb in
                            acts[l].withUnsafeMutableBufferPointer { ab in
                                for i in 0..<(count * width) { ab[i] *= mb[i] }
                            }
                        }
                    }
                }
                // Loss and d loss / d logit (weighted mean over the batch).
                let invW = wTotal > 0 ? 1 / wTotal : 0
                for r in 0..<count {
                    let z = acts[L - 1][r], y = yb[r], w = wb[r]
                    lossSum += Double(w) * logLoss(logit: z, label: y)
                    weightSum += Double(w)
                    grads[L - 1][r] = w * invW * (sigmoid(z) - y)
                }
                // Backward.
                for l in stride(from: L - 1, through: 0, by: -1) {
                    let width = sizes[l + 1], kin = sizes[l]
                    let inBuf = l == 0 ? xb : acts[l - 1]
                    layers[l].gradW.storage.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                    layers[l].gradB.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                    inBuf.withUnsafeBufferPointer { ib in
                        grads[l].withUnsafeBufferPointer { gb in
                            denseWeightGradient(ib, inputStride: kin, gb, dOutStride: width, gradient: &layers[l].gradW, rows: 0..<count)
                            layers[l].gradB.withUnsafeMutableBufferPointer {
                                columnSums(gb, stride: width, columns: width, into: $0, rows: 0..<count)
                            }
                        }
                    }
                    if l > 0 {
                        // dIn = dOut · Wᵀ, then through dropout and ReLU of layer l-1.
                        grads[l].withUnsafeBufferPointer { gb in
                            grads[l - 1].withUnsafeMutableBufferPointer { db in
                                denseForward(gb, inputStride: width, weights: layers[l].transposed, bias: nil,
                                             activation: .identity, db, outputStride: kin, rows: 0..<count)
                                if c.dropout > 0 {
                                    masks[l - 1].withUnsafeBufferPointer { mb in
                                        for i in 0..<(count * kin) { db[i] *= mb[i] }
                                    }
                                }
                                acts[l - 1].withUnsafeBufferPointer { ab in
                                    reluBackward(ab, db, stride: kin, columns: kin, rows: 0..<count)
                                }
                            }
                        }
                    }
                }
                step += 1
                adamStep(step: step, lr: lr)
                start += count
            }
            let trainLoss = weightSum > 0 ? lossSum / weightSum : 0
            guard let validation, let valScratch else {
                progress(TrainingProgress(iteration: epoch, trainLoss: trainLoss))
                continue
            }
            let model = snapshot()
            let valLoss = evaluate(model, validation, scratch: valScratch, logits: &valLogits)
            progress(TrainingProgress(iteration: epoch, trainLoss: trainLoss, validationLoss: valLoss))
            if valLoss < bestLoss - 1e-6 {
                bestLoss = valLoss; best = model; bestEpoch = epoch
                sinceImprovement = 0; sinceDecay = 0
            } else {
                sinceImprovement += 1; sinceDecay += 1
                if sinceImprovement >= c.patience { break }
                if c.learningRateDecay < 1, sinceDecay >= max(1, c.patience / 3) {
                    lr *= c.learningRateDecay
                    sinceDecay = 0
                }
            }
        }
        if validation == nil { return snapshot() }
        progress(TrainingProgress(iteration: bestEpoch, validationLoss: bestLoss, message: "restored best epoch \(bestEpoch)"))
        return best
    }

    /// Adam (with decoupled weight decay on weights) over every layer; refreshes `Wᵀ`.
    mutating func adamStep(step: Int, lr: Float) {
        let bc1 = 1 - Float(pow(Double(c.beta1), Double(step))), bc2 = 1 - Float(pow(Double(c.beta2), Double(step)))
        for l in 0..<layers.count {
            layers[l].adam(stepSize: lr / bc1, invBc2: 1 / bc2, b1: c.beta1, b2: c.beta2, eps: c.epsilon,
                           decay: lr * c.weightDecay)
            if c.weightAveraging > 0 { layers[l].average(c.weightAveraging) }
        }
    }

    /// Weighted mean log loss of `model` on `data`.
    func evaluate(_ model: MLPModel, _ data: LabeledMatrix, scratch: ModelScratch, logits: inout [Float]) -> Double {
        data.x.values.withUnsafeBufferPointer { x in
            logits.withUnsafeMutableBufferPointer { out in
                model.logits(x, out, rows: 0..<data.rows, scratch: scratch)
            }
        }
        var s = 0.0, ws = 0.0
        for r in 0..<data.rows {
            let w = Double(data.weights?[r] ?? 1)
            s += w * logLoss(logit: logits[r], label: data.y[r])
            ws += w
        }
        return ws > 0 ? s / ws : 0
    }
}

/// `-[y log σ(z) + (1-y) log(1-σ(z))]`, stable for large |z|.
@inline(__always)
func logLoss(logit z: Float, label y: Float) -> Double {
    let zd = Double(z)
    return max(zd, 0) - zd * Double(y) + log1p(exp(-abs(zd)))
}

@inline(__always)
func sigmoid(_ z: Float) -> Float {
    z >= 0 ? 1 / (1 + Foundation.exp(-z)) : Foundation.exp(z) / (1 + Foundation.exp(z))
}
