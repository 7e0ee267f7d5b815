import CreditCore
import Foundation

/// One dense layer of an `MLPModel`: `out = act(in · weights + bias)`.
public struct MLPLayer: Sendable, Equatable {
    /// `inputs × outputs`, packed for `denseForward`.
    public var weights: PackedMatrix
    public var bias: [Float]
    public var activation: Activation

    public var inputs: Int { weights.k }
    public var outputs: Int { weights.n }

    public init(weights: PackedMatrix, bias: [Float], activation: Activation) {
        precondition(bias.count == weights.n, "MLPLayer: \(bias.count) biases for \(weights.n) outputs")
        self.weights = weights
        self.bias = bias
        self.activation = activation
    }
}

/// A trained multilayer perceptron: an optional fixed piecewise-linear expansion of the
/// numeric inputs (`PiecewiseLinearExpansion`), ReLU hidden layers, one linear output unit =
/// log-odds.
///
/// Scoring runs through `CreditCore.denseForward` (4 rows × 16 columns register blocks) with
/// activations in an `MLPScratch`; nothing is allocated per row.
///
/// Reason codes (`contributions`) are an approximation (an MLP has no exact additive form):
/// integrated gradients from the baseline row `0` — the training mean in standardized space,
/// i.e. the "average applicant" — with `MLPModel.attributionSteps` midpoint steps; then the
/// residual `logit(x) − logit(0) − Σ c` is spread over the columns in proportion to `|c_i|`,
/// so `bias + Σ c == logit(x)` holds exactly (up to Float rounding), where `bias = logit(0)`.
/// See docs/matrix-core.md.
public struct MLPModel: LogitModel, Codable, Equatable {
    /// Fixed first stage; `layers[0]` takes its `outputWidth` inputs. nil: raw inputs.
    public let expansion: PiecewiseLinearExpansion?
    public let layers: [MLPLayer]
    /// `Wᵀ` of each layer, for the input gradients of `contributions`.
    let transposed: [PackedMatrix]
    /// Log-odds of the all-zero (training mean) row: the reason-code bias.
    public let baselineLogit: Float

    /// Midpoint steps of the integrated-gradients path in `contributions` (the served reason
    /// codes). 64 (issue 15): with 4 the top reason agreed with a 64-step path on 45 % of rows;
    /// reasons are computed for refused applicants only, which pays for the finer path
    /// (docs/matrix-core.md).
    public static let attributionSteps = 64
    /// The most steps `contributions(_:_:scratch:steps:)` takes, and the scratch's floor.
    public static let referenceAttributionSteps = 64

    public init(layers: [MLPLayer], expansion: PiecewiseLinearExpansion? = nil) {
        precondition(!layers.isEmpty && layers.last!.outputs == 1, "MLPModel: last layer must have one output")
        precondition(expansion == nil || expansion!.outputWidth == layers[0].inputs, "MLPModel: expansion gives \(expansion!.outputWidth) values, layer 0 takes \(layers[0].inputs)")
        for i in 1..<max(1, layers.count) {
            precondition(layers[i].inputs == layers[i - 1].outputs, "MLPModel: layer \(i) takes \(layers[i].inputs) inputs, previous gives \(layers[i - 1].outputs)")
        }
        self.layers = layers
        self.expansion = expansion
        self.transposed = layers.map { $0.weights.transposed() }
        // logit(0): forward of the zero row, scalar (runs once).
        var h = [Float](repeating: 0, count: layers[0].inputs)
        if let expansion {
            let zero = [Float](repeating: 0, count: expansion.inputWidth)
            zero.withUnsafeBufferPointer { z in h.withUnsafeMutableBufferPointer { expansion.expand(z, rows: 0..<1, into: $0) } }
        }
        for layer in layers {
            var out = layer.bias
            for j in 0..<layer.outputs {
                for i in 0..<layer.inputs { out[j] += h[i] * layer.weights[i, j] }
                if layer.activation == .relu { out[j] = relu(out[j]) }
            }
            h = out
        }
        self.baselineLogit = h[0]
    }

    public static func == (a: MLPModel, b: MLPModel) -> Bool { a.layers == b.layers && a.expansion == b.expansion }

    public var inputWidth: Int { expansion?.inputWidth ?? layers[0].inputs }
    /// `[layer-0 inputs (after expansion), hidden..., 1]`.
    public var layerSizes: [Int] { [layers[0].inputs] + layers.map(\.outputs) }

    public func makeScratch(maxRows: Int) -> ModelScratch {
        MLPScratch(maxRows: maxRows, model: self)
    }

    public func logits(_ input: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                       rows: Range<Int>, scratch: ModelScratch) {
        guard !rows.isEmpty else { return }
        guard let s = scratch as? MLPScratch, s.fits(self) else {
            preconditionFailure("MLPModel.logits: scratch was not made by this model's makeScratch")
        }
        let k = inputWidth
        precondition(rows.lowerBound >= 0 && input.count >= rows.upperBound * k, "MLPModel.logits: input has \(input.count) floats, rows \(rows) need \(rows.upperBound * k)")
        precondition(output.count >= rows.upperBound, "MLPModel.logits: output has \(output.count) slots, rows \(rows)")
        var start = rows.lowerBound
        while start < rows.upperBound {
            let count = min(s.capacity, rows.upperBound - start)
            let x = UnsafeBufferPointer(rebasing: input[(start * k)...])
            let y = UnsafeMutableBufferPointer(rebasing: output[start...])
            forward(x, count: count, scratch: s, final: y)
            start += count
        }
    }

    /// Runs rows `0..<count` of `x` (model input rows) through the expansion and all layers;
    /// hidden activations land in `scratch.activations`, the logits in `final[0..<count]`.
    func forward(_ x: UnsafeBufferPointer<Float>, count: Int, scratch s: MLPScratch,
                 final: UnsafeMutableBufferPointer<Float>) {
        var input = x
        if let expansion {
            expansion.expand(x, rows: 0..<count, into: s.expanded)
            input = UnsafeBufferPointer(s.expanded)
        }
        for (l, layer) in layers.enumerated() {
            let out = l == layers.count - 1 ? final : s.activations[l]
            layer.bias.withUnsafeBufferPointer { b in
                denseForward(input, inputStride: layer.inputs, weights: layer.weights, bias: b,
                             activation: layer.activation, out, outputStride: layer.outputs, rows: 0..<count)
            }
            input = UnsafeBufferPointer(out)
        }
    }

    public func contributions(_ row: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                              scratch: ModelScratch) -> Float {
        contributions(row, output, scratch: scratch, steps: MLPModel.attributionSteps)
    }

    /// `contributions` with `steps` midpoint steps (1...`referenceAttributionSteps`); tests
    /// compare coarser settings with the served one.
    func contributions(_ row: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                       scratch: ModelScratch, steps m: Int) -> Float {
        guard let s = scratch as? MLPScratch, s.fits(self) else {
            preconditionFailure("MLPModel.contributions: scratch was not made by this model's makeScratch")
        }
        precondition(m >= 1 && m <= MLPModel.referenceAttributionSteps, "MLPModel.contributions: \(m) steps")
        let k = inputWidth
        precondition(row.count >= k && output.count == k, "MLPModel.contributions: row \(row.count), output \(output.count), need \(k)")
        // Path points x_s = (s + 0.5)/m · x, s = 0..<m, in s.path.
        let path = s.path
        for step in 0..<m {
            let t = (Float(step) + 0.5) / Float(m)
            for i in 0..<k { path[step * k + i] = t * row[i] }
        }
        // The row itself as path row m (its logit).
        for i in 0..<k { path[m * k + i] = row[i] }
        forward(UnsafeBufferPointer(path), count: m + 1, scratch: s, final: s.logitsOut)
        let logit = s.logitsOut[m]
        // Backward: d logit / d h for each hidden layer, then / d x.
        var grad = s.gradients[layers.count - 1]          // width 1
        for r in 0..<m { grad[r] = 1 }
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[l]
            let dIn = s.gradients[l == 0 ? layers.count : l - 1]   // width layer.inputs
            denseForward(UnsafeBufferPointer(grad), inputStride: layer.outputs, weights: transposed[l], bias: nil,
                         activation: .identity, dIn, outputStride: layer.inputs, rows: 0..<m)
            if l > 0 && layers[l - 1].activation == .relu {
                reluBackward(UnsafeBufferPointer(s.activations[l - 1]), dIn, stride: layer.inputs,
                             columns: layer.inputs, rows: 0..<m)
            }
            grad = dIn
        }
        // grad holds d logit / d (layer-0 input) at each path point; through the expansion to
        // d logit / d x, averaged over the path, times x.
        let k0 = layers[0].inputs
        for i in 0..<k { s.attribution[i] = 0 }
        for r in 0..<m {
            if let expansion {
                expansion.backward(UnsafePointer(path.baseAddress! + r * k), expandedGradient: UnsafePointer(grad.baseAddress! + r * k0),
                                   into: s.attribution.baseAddress!)
            } else {
                for i in 0..<k { s.attribution[i] += Double(grad[r * k + i]) }
            }
        }
        var raw = 0.0, absSum = 0.0
        for i in 0..<k {
            let c = Double(row[i]) * s.attribution[i] / Double(m)
            s.attribution[i] = c
            raw += c
            absSum += abs(c)
        }
        let residual = Double(logit) - Double(baselineLogit) - raw
        if absSum > 0 {
            for i in 0..<k { s.attribution[i] += residual * abs(s.attribution[i]) / absSum }
        } else {
            // Flat path: spread the (tiny) residual evenly.
            for i in 0..<k { s.attribution[i] += residual / Double(k) }
        }
        for i in 0..<k { output[i] = Float(s.attribution[i]) }
        return baselineLogit
    }

    // MARK: Codable (row-major weights; packing is rebuilt on decode)

    private enum CodingKeys: String, CodingKey { case format, expansion, layerSizes, activations, weights, biases }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(1, forKey: .format)
        try c.encodeIfPresent(expansion, forKey: .expansion)
        try c.encode(layerSizes, forKey: .layerSizes)
        try c.encode(layers.map(\.activation), forKey: .activations)
        try c.encode(layers.map { $0.weights.rowMajor() }, forKey: .weights)
        try c.encode(layers.map(\.bias), forKey: .biases)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let format = try c.decode(Int.self, forKey: .format)
        guard format == 1 else {
            throw DecodingError.dataCorruptedError(forKey: .format, in: c, debugDescription: "MLPModel: unknown format \(format)")
        }
        let sizes = try c.decode([Int].self, forKey: .layerSizes)
        let acts = try c.decode([Activation].self, forKey: .activations)
        let weights = try c.decode([[Float]].self, forKey: .weights)
        let biases = try c.decode([[Float]].self, forKey: .biases)
        let expansion = try c.decodeIfPresent(PiecewiseLinearExpansion.self, forKey: .expansion)
        let n = sizes.count - 1
        guard n >= 1, sizes.allSatisfy({ $0 > 0 }), sizes.last == 1, acts.count == n, weights.count == n, biases.count == n,
              expansion == nil || expansion!.outputWidth == sizes[0] else {
            throw DecodingError.dataCorruptedError(forKey: .layerSizes, in: c, debugDescription: "MLPModel: inconsistent layers \(sizes)")
        }
        var layers = [MLPLayer]()
        for l in 0..<n {
            guard weights[l].count == sizes[l] * sizes[l + 1], biases[l].count == sizes[l + 1] else {
                throw DecodingError.dataCorruptedError(forKey: .weights, in: c, debugDescription: "MLPModel: layer \(l) has \(weights[l].count) weights / \(biases[l].count) biases for \(sizes[l])x\(sizes[l + 1])")
            }
            layers.append(MLPLayer(weights: PackedMatrix(k: sizes[l], n: sizes[l + 1], rowMajor: weights[l]),
                                   bias: biases[l], activation: acts[l]))
        }
        self.init(layers: layers, expansion: expansion)
    }
}

/// Scoring buffers of an `MLPModel`: one activation matrix per hidden layer, input-gradient
/// buffers and the attribution path for `contributions`. Allocated once; one thread only.
public final class MLPScratch: ModelScratch, @unchecked Sendable {
    /// Rows per chunk (at least `referenceAttributionSteps + 1`).
    let capacity: Int
    let sizes: [Int]
    /// Hidden activations, `capacity × width` each.
    let activations: [UnsafeMutableBufferPointer<Float>]
    /// `gradients[l]`: d logit / d (output of layer l), l < layers; `gradients[layers]`: / d input.
    let gradients: [UnsafeMutableBufferPointer<Float>]
    /// Raw attribution path rows (`inputWidth` each).
    let path: UnsafeMutableBufferPointer<Float>
    /// Expanded input rows (`layerSizes[0]` each).
    let expanded: UnsafeMutableBufferPointer<Float>
    let logitsOut: UnsafeMutableBufferPointer<Float>
    let attribution: UnsafeMutableBufferPointer<Double>

    init(maxRows: Int, model: MLPModel) {
        let cap = max(maxRows, MLPModel.referenceAttributionSteps + 1)
        capacity = cap
        sizes = model.layerSizes
        let hidden = sizes.dropFirst().dropLast()
        activations = hidden.map { .allocate(capacity: cap * $0) }
        gradients = sizes.dropFirst().map { .allocate(capacity: cap * $0) } + [.allocate(capacity: cap * sizes[0])]
        path = .allocate(capacity: cap * model.inputWidth)
        expanded = .allocate(capacity: cap * sizes[0])
        logitsOut = .allocate(capacity: cap)
        attribution = .allocate(capacity: model.inputWidth)
        inputWidth = model.inputWidth
        for b in activations + gradients + [path, expanded, logitsOut] { b.initialize(repeating: 0) }
        attribution.initialize(repeating: 0)
        super.init(maxRows: maxRows)
    }

    let inputWidth: Int

    /// Whether this scratch was made for `model`'s shape. Allocation-free (called on every
    /// `logits`/`contributions`; `layerSizes` would build arrays).
    func fits(_ model: MLPModel) -> Bool {
        guard inputWidth == model.inputWidth, sizes.count == model.layers.count + 1,
              sizes[0] == model.layers[0].inputs else { return false }
        for l in 0..<model.layers.count where sizes[l + 1] != model.layers[l].outputs { return false }
        return true
    }

    deinit {
        for b in activations + gradients + [path, expanded, logitsOut] { b.deallocate() }
        attribution.deallocate()
    }
}
