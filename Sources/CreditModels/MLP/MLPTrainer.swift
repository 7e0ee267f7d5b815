import CreditCore
import Foundation

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

/// Per-thread gradient accumulators of the data-parallel step.
final class MLPWorker: @unchecked Sendable {
    var gradW: [PackedMatrix]
    var gradB: [[Float]]
    var lossSum = 0.0

    init(sizes: [Int]) {
        gradW = (0..<(sizes.count - 1)).map { PackedMatrix(k: sizes[$0], n: sizes[$0 + 1]) }
        gradB = (0..<(sizes.count - 1)).map { [Float](repeating: 0, count: sizes[$0 + 1]) }
    }
}

/// Mini-batch buffers (one row per batch row; threads own disjoint row ranges).
final class MLPBatch: @unchecked Sendable {
    let capacity: Int
    let x: UnsafeMutableBufferPointer<Float>
    let y: UnsafeMutableBufferPointer<Float>
    let w: UnsafeMutableBufferPointer<Float>
    /// Output of each layer (post-ReLU and dropout for hidden layers; logits for the last).
    let acts: [UnsafeMutableBufferPointer<Float>]
    /// d loss / d (pre-activation output) of each layer.
    let grads: [UnsafeMutableBufferPointer<Float>]
    /// Dropout multipliers (0 or 1/keep) of each hidden layer.
    let masks: [UnsafeMutableBufferPointer<Float>]

    init(capacity: Int, sizes: [Int]) {
        self.capacity = capacity
        x = .allocate(capacity: capacity * sizes[0]); x.initialize(repeating: 0)
        y = .allocate(capacity: capacity); y.initialize(repeating: 0)
        w = .allocate(capacity: capacity); w.initialize(repeating: 0)
        func make(_ n: Int) -> UnsafeMutableBufferPointer<Float> {
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: n); b.initialize(repeating: 0); return b
        }
        acts = sizes.dropFirst().map { make(capacity * $0) }
        grads = sizes.dropFirst().map { make(capacity * $0) }
        masks = sizes.dropFirst().dropLast().map { make(capacity * $0) }
    }

    deinit {
        for b in [x, y, w] + acts + grads + masks { b.deallocate() }
    }
}

/// Mini-batch Adam training loop over `CreditCore` kernels. Buffers are allocated once per fit.
///
/// With `threads == 2` each batch is split at a fixed row (`count / 2`); the halves run
/// forward/backward at once (on a `ForkJoin`: one helper thread for the fit rather than a
/// `concurrentPerform` wake-up per batch) into their own gradient buffers, which are then
/// added in a fixed order (half 0 + half 1), so results are deterministic (and equal for any
/// machine load).
struct MLPTrainer {
    let c: MLPLearner.Configuration
    let sizes: [Int]
    var layers: [TrainLayer]
    var rng: Xoshiro256StarStar
    let threads: Int
    let workers: [MLPWorker]
    let batch: MLPBatch
    /// The second thread when `threads == 2`.
    let forkJoin: ForkJoin?

    init(configuration: MLPLearner.Configuration, inputs: Int, seed: UInt64, batchCapacity: Int) {
        c = configuration
        sizes = [inputs] + configuration.hiddenLayers + [1]
        rng = Xoshiro256StarStar(seed: seed)
        threads = max(1, min(2, configuration.threads))
        forkJoin = threads == 2 ? ForkJoin(name: "mlp-fork-join") : nil
        layers = []
        for l in 0..<(sizes.count - 1) {
            let k = sizes[l], n = sizes[l + 1]
            var w = PackedMatrix(k: k, n: n)
            let scale = (2.0 / Double(k)).squareRoot()      // He normal
            for i in 0..<k { for j in 0..<n { w[i, j] = Float(rng.gaussian() * scale) } }
            let zerosW = [Float](repeating: 0, count: w.storage.count), zerosB = [Float](repeating: 0, count: n)
            layers.append(TrainLayer(weights: w, bias: zerosB, gradW: PackedMatrix(k: k, n: n), gradB: zerosB,
                                     mW: zerosW, vW: zerosW, mB: zerosB, vB: zerosB, transposed: w.transposed(),
                                     avgW: w.storage, avgB: zerosB))
        }
        let allSizes = sizes
        workers = (0..<threads).map { _ in MLPWorker(sizes: allSizes) }
        batch = MLPBatch(capacity: batchCapacity, sizes: sizes)
    }

    /// The current model: the averaged weights when averaging is on (or `raw`).
    func snapshot(raw: Bool = false) -> MLPModel {
        MLPModel(layers: layers.enumerated().map { l, t in
            var w = t.weights
            let averaged = c.weightAveraging > 0 && !raw
            if averaged { w.storage = t.avgW }
            return MLPLayer(weights: w, bias: averaged ? t.avgB : t.bias,
                            activation: l == layers.count - 1 ? .identity : .relu)
        })
    }

    /// Forward and backward over rows `rows` of the batch into `worker`'s gradients (zeroed
    /// first). `invW` = 1 / (total batch weight): the loss is the weighted batch mean.
    static func forwardBackward(layers: [TrainLayer], sizes: [Int], batch b: MLPBatch, worker: MLPWorker,
                                rows: Range<Int>, invW: Float, dropout: Bool) {
        let L = layers.count
        worker.lossSum = 0
        guard !rows.isEmpty else {
            for l in 0..<L {
                worker.gradW[l].storage.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                worker.gradB[l].withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            }
            return
        }
        for l in 0..<L {
            let width = sizes[l + 1], kin = sizes[l]
            let isOutput = l == L - 1
            let input = UnsafeBufferPointer(l == 0 ? b.x : b.acts[l - 1])
            layers[l].bias.withUnsafeBufferPointer { bias in
                denseForward(input, inputStride: kin, weights: layers[l].weights, bias: bias,
                             activation: isOutput ? .identity : .relu, b.acts[l], outputStride: width, rows: rows)
            }
            if !isOutput && dropout {
                let a = b.acts[l], m = b.masks[l]
                for i in (rows.lowerBound * width)..<(rows.upperBound * width) { a[i] *= m[i] }
            }
        }
        // Loss and d loss / d logit.
        let z = b.acts[L - 1], g = b.grads[L - 1]
        var loss = 0.0
        for r in rows {
            loss += Double(b.w[r]) * logLoss(logit: z[r], label: b.y[r])
            g[r] = b.w[r] * invW * (sigmoid(z[r]) - b.y[r])
        }
        worker.lossSum = loss
        for l in stride(from: L - 1, through: 0, by: -1) {
            let width = sizes[l + 1], kin = sizes[l]
            let input = UnsafeBufferPointer(l == 0 ? b.x : b.acts[l - 1])
            let dOut = UnsafeBufferPointer(b.grads[l])
            worker.gradW[l].storage.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            denseWeightGradient(input, inputStride: kin, dOut, dOutStride: width, gradient: &worker.gradW[l], rows: rows)
            worker.gradB[l].withUnsafeMutableBufferPointer { gb in
                gb.update(repeating: 0)
                columnSums(dOut, stride: width, columns: width, into: gb, rows: rows)
            }
            if l > 0 {
                // dIn = dOut · Wᵀ, then back through dropout and ReLU of layer l-1.
                let dIn = b.grads[l - 1]
                denseForward(dOut, inputStride: width, weights: layers[l].transposed, bias: nil,
                             activation: .identity, dIn, outputStride: kin, rows: rows)
                if dropout {
                    let m = b.masks[l - 1]
                    for i in (rows.lowerBound * kin)..<(rows.upperBound * kin) { dIn[i] *= m[i] }
                }
                reluBackward(UnsafeBufferPointer(b.acts[l - 1]), dIn, stride: kin, columns: kin, rows: rows)
            }
        }
    }

    /// Gradients of the weighted mean log loss over batch rows `0..<count` into
    /// `layers[l].gradW/gradB`; returns the weighted loss sum.
    mutating func computeGradients(count: Int, dropout: Bool) -> Double {
        var wTotal: Float = 0
        for r in 0..<count { wTotal += batch.w[r] }
        let invW: Float = wTotal > 0 ? 1 / wTotal : 0
        let layers = self.layers, sizes = self.sizes, batch = self.batch, workers = self.workers
        if let forkJoin, count >= 8 {
            let half = count / 2
            forkJoin.run { t in
                MLPTrainer.forwardBackward(layers: layers, sizes: sizes, batch: batch, worker: workers[t],
                                           rows: t == 0 ? 0..<half : half..<count, invW: invW, dropout: dropout)
            }
        } else {
            MLPTrainer.forwardBackward(layers: layers, sizes: sizes, batch: batch, worker: workers[0],
                                       rows: 0..<count, invW: invW, dropout: dropout)
            for t in 1..<workers.count { MLPTrainer.forwardBackward(layers: layers, sizes: sizes, batch: batch, worker: workers[t], rows: count..<count, invW: invW, dropout: dropout) }
        }
        // Fixed-order reduction: worker 0, then worker 1.
        var loss = 0.0
        for l in 0..<self.layers.count {
            self.layers[l].gradW.storage.withUnsafeMutableBufferPointer { dst in
                dst.update(repeating: 0)
                for wk in workers { wk.gradW[l].storage.withUnsafeBufferPointer { axpy(1, $0, dst) } }
            }
            self.layers[l].gradB.withUnsafeMutableBufferPointer { dst in
                dst.update(repeating: 0)
                for wk in workers { wk.gradB[l].withUnsafeBufferPointer { axpy(1, $0, dst) } }
            }
        }
        for wk in workers { loss += wk.lossSum }
        return loss
    }

    /// The epoch whose weights `run` returned (the best validation epoch, else the last).
    private(set) var keptEpoch = 0

    mutating func run(train: LabeledMatrix, weights: [Float]?, validation: LabeledMatrix?,
                      progress: @Sendable (TrainingProgress) -> Void) -> MLPModel {
        let n = train.rows, k = sizes[0], bs = min(c.batchSize, n, batch.capacity)
        var order = Array(0..<n)
        var best = snapshot(), bestLoss = Double.infinity, bestEpoch = 0
        var lr = c.learningRate
        var sinceImprovement = 0, sinceDecay = 0
        var step = 0
        let keep = 1 - c.dropout, invKeep = 1 / (1 - c.dropout)
        let valScratch = validation.map { _ in best.makeScratch(maxRows: 1024) }
        var valLogits = [Float](repeating: 0, count: validation?.rows ?? 0)

        for epoch in 1...c.maxEpochs {
            rng.shuffleInPlace(&order)
            var lossSum = 0.0, weightSum = 0.0
            var start = 0
            while start < n {
                let count = min(bs, n - start)
                train.x.values.withUnsafeBufferPointer { src in
                    for r in 0..<count {
                        let row = order[start + r]
                        for i in 0..<k { batch.x[r * k + i] = src[row * k + i] }
                        batch.y[r] = train.y[row]
                        batch.w[r] = weights?[row] ?? 1
                        weightSum += Double(batch.w[r])
                    }
                }
                if c.dropout > 0 {
                    for (m, mask) in batch.masks.enumerated() {
                        for i in 0..<(count * sizes[m + 1]) { mask[i] = rng.uniformFloat() < keep ? invKeep : 0 }
                    }
                }
                lossSum += computeGradients(count: count, dropout: c.dropout > 0)
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
        if validation == nil { keptEpoch = c.maxEpochs; return snapshot() }
        keptEpoch = bestEpoch
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
