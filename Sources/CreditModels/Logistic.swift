import CreditCore
import Foundation

/// Logistic regression with an L2 penalty, fitted by Newton's method (IRLS) with a
/// Cholesky solve of the (d+1)×(d+1) Hessian and a backtracking line search.
///
/// Objective (weighted rows, intercept not penalised), divided by the total weight W:
///   F(β, b) = (1/W) · [ Σ wᵢ · logloss(yᵢ, σ(b + xᵢ·β)) + (λ/2)·‖β‖² ]
/// λ = `l2` (scikit-learn's `C` is 1/λ). Converged when ‖∇F‖₂ < `tolerance`; the model
/// records iterations and the final gradient norm. Input is the dense encoding.
public struct LogisticLearner: Learner {
    public typealias Model = LogisticModel
    public static let algorithm = "logistic"
    public var encoding: InputEncoding { .dense }
    public var l2: Double
    public var maxIterations: Int
    public var tolerance: Double
    public var enforcesMonotone: Bool { true }
    public static var complexity: Int { 1 }

    public init(l2: Double = 1.0, maxIterations: Int = 100, tolerance: Double = 1e-10) {
        self.l2 = l2
        self.maxIterations = maxIterations
        self.tolerance = tolerance
    }

    public func fit(train: LabeledMatrix, validation: LabeledMatrix?, seed: UInt64,
                    progress: @escaping @Sendable (TrainingProgress) -> Void) throws -> LogisticModel {
        let n = train.rows, d = train.x.cols, p = d + 1   // last coordinate: intercept
        guard n > 0 else { throw LogisticError(description: "logistic regression: no training rows") }
        let x = train.x.values
        let y = train.y
        let w = train.weights ?? [Float](repeating: 1, count: n)
        var totalWeight = 0.0
        for v in w { totalWeight += Double(v) }
        guard totalWeight > 0 else { throw LogisticError(description: "logistic regression: total row weight is 0") }
        var beta = [Double](repeating: 0, count: p)
        // Start the intercept at the weighted base rate.
        var wy = 0.0
        for i in 0..<n { wy += Double(w[i]) * Double(y[i]) }
        let rate = min(max(wy / totalWeight, 1e-6), 1 - 1e-6)
        beta[d] = Foundation.log(rate / (1 - rate))

        func objective(_ b: [Double]) -> Double {
            var s = 0.0
            for i in 0..<n {
                var z = b[d]
                let base = i * d
                for j in 0..<d { z += Double(x[base + j]) * b[j] }
                s += Double(w[i]) * logLossFromLogit(z, y: Double(y[i]))
            }
            var reg = 0.0
            for j in 0..<d { reg += b[j] * b[j] }
            return (s + 0.5 * l2 * reg) / totalWeight
        }

        var grad = [Double](repeating: 0, count: p)
        var hess = [Double](repeating: 0, count: p * p)
        var row = [Double](repeating: 0, count: p)
        var iterations = 0
        var gradNorm = Double.infinity
        // Sign constraints (the spec's monotone features): an active set of coefficients held
        // at 0. Newton runs on the free ones; a free coefficient of the wrong sign joins the set,
        // a held one whose gradient points into its allowed side leaves it (KKT), until neither.
        let sign = train.monotone ?? [Int8](repeating: 0, count: d)
        guard sign.count == d else { throw LogisticError(description: "logistic regression: \(sign.count) monotone signs for \(d) columns") }
        var held = [Bool](repeating: false, count: p)
        var rawGrad = grad
        func newton() {
        for j in 0..<d where held[j] { beta[j] = 0 }
        var f = objective(beta)
        var lastGradNorm = Double.infinity
        var stalled = 0
        while true {
            // Gradient and Hessian at beta.
            for k in 0..<p { grad[k] = 0 }
            for k in 0..<(p * p) { hess[k] = 0 }
            for i in 0..<n {
                let base = i * d
                var z = beta[d]
                for j in 0..<d { row[j] = Double(x[base + j]); z += row[j] * beta[j] }
                row[d] = 1
                let prob = sigmoid(z)
                let wi = Double(w[i])
                let r = wi * (prob - Double(y[i]))
                let s = wi * prob * (1 - prob)
                for a in 0..<p {
                    grad[a] += r * row[a]
                    let sa = s * row[a]
                    if sa != 0 {
                        for b in a..<p { hess[a * p + b] += sa * row[b] }
                    }
                }
            }
            for j in 0..<d { grad[j] += l2 * beta[j]; hess[j * p + j] += l2 }
            for a in 0..<p {
                grad[a] /= totalWeight
                for b in a..<p { hess[a * p + b] /= totalWeight; hess[b * p + a] = hess[a * p + b] }
            }
            rawGrad = grad
            for j in 0..<d where held[j] {   // held coordinates do not move
                grad[j] = 0
                for k in 0..<p { hess[j * p + k] = 0; hess[k * p + j] = 0 }
                hess[j * p + j] = 1
            }
            gradNorm = grad.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let validationLoss = validation.map { logLoss(model: makeModel(beta, d: d, iterations: iterations, gradNorm: gradNorm, converged: false), $0) }
            progress(TrainingProgress(iteration: iterations, trainLoss: f, validationLoss: validationLoss,
                                      message: "gradient norm \(gradNorm)"))
            if gradNorm < tolerance || iterations >= maxIterations { break }
            // Newton step: solve H·step = -grad.
            var rhs = grad.map { -$0 }
            if !choleskySolve(&hess, &rhs, n: p) {
                // Singular Hessian (λ = 0 with a constant column): fall back to a gradient step.
                rhs = grad.map { -$0 }
            }
            var directional = 0.0
            for k in 0..<p { directional += grad[k] * rhs[k] }
            var candidate = beta
            var fNew = f
            if -directional < 1e-12 {
                // Newton decrement below what the objective can resolve in Double: inside the
                // quadratic-convergence region, so take the full step (a line search would
                // only see rounding noise).
                for k in 0..<p { candidate[k] = beta[k] + rhs[k] }
                fNew = objective(candidate)
                stalled = gradNorm >= lastGradNorm * 0.5 ? stalled + 1 : 0
                if stalled >= 3 { break }   // gradient no longer shrinks: floating-point floor
            } else {
                var t = 1.0
                for _ in 0..<50 {
                    for k in 0..<p { candidate[k] = beta[k] + t * rhs[k] }
                    fNew = objective(candidate)
                    if fNew <= f + 1e-4 * t * directional { break }
                    t *= 0.5
                }
                if fNew > f { break }   // no descent possible in floating point: at the optimum
            }
            lastGradNorm = gradNorm
            beta = candidate
            f = fNew
            iterations += 1
        }
        }
        newton()
        for _ in 0..<(2 * d + 2) where sign.contains(where: { $0 != 0 }) {
            // The free coefficient furthest on its wrong side, else the held one whose release
            // descends fastest; none → the constrained optimum.
            var worst = -1, worstBy = 0.0
            for j in 0..<d where sign[j] != 0 && !held[j] && Double(sign[j]) * beta[j] < -1e-12 {
                if -Double(sign[j]) * beta[j] > worstBy { worst = j; worstBy = -Double(sign[j]) * beta[j] }
            }
            if worst >= 0 { held[worst] = true; newton(); continue }
            var release = -1, releaseBy = 0.0
            for j in 0..<d where held[j] && -Double(sign[j]) * rawGrad[j] > max(tolerance, 1e-9) {
                if -Double(sign[j]) * rawGrad[j] > releaseBy { release = j; releaseBy = -Double(sign[j]) * rawGrad[j] }
            }
            if release < 0 { break }
            held[release] = false
            newton()
        }
        for j in 0..<d where held[j] || Double(sign[j]) * beta[j] < 0 { beta[j] = 0 }
        return makeModel(beta, d: d, iterations: iterations, gradNorm: gradNorm, converged: gradNorm < tolerance)
    }

    private func makeModel(_ beta: [Double], d: Int, iterations: Int, gradNorm: Double, converged: Bool) -> LogisticModel {
        LogisticModel(weights: beta[0..<d].map { Float($0) }, intercept: Float(beta[d]),
                      coefficients: Array(beta[0..<d]), interceptDouble: beta[d],
                      l2: l2, iterations: iterations, gradientNorm: gradNorm, converged: converged)
    }

    private func logLoss(model: LogisticModel, _ m: LabeledMatrix) -> Double {
        var s = 0.0
        for i in 0..<m.rows {
            var z = model.interceptDouble
            for j in 0..<m.x.cols { z += Double(m.x.values[i * m.x.cols + j]) * model.coefficients[j] }
            s += logLossFromLogit(z, y: Double(m.y[i]))
        }
        return m.rows == 0 ? .nan : s / Double(m.rows)
    }
}

public struct LogisticError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

@inline(__always) func sigmoid(_ z: Double) -> Double {
    z >= 0 ? 1 / (1 + Foundation.exp(-z)) : Foundation.exp(z) / (1 + Foundation.exp(z))
}

/// log(1 + e^z) - y·z, computed without overflow.
@inline(__always) func logLossFromLogit(_ z: Double, y: Double) -> Double {
    let softplus = z > 0 ? z + Foundation.log1p(Foundation.exp(-z)) : Foundation.log1p(Foundation.exp(z))
    return softplus - y * z
}

/// Solves A·x = b in place for a symmetric positive-definite `n×n` A (row-major);
/// `b` receives x. Returns false when A is not positive definite.
func choleskySolve(_ a: inout [Double], _ b: inout [Double], n: Int) -> Bool {
    // A = L·Lᵀ, L stored in the lower triangle of a.
    for j in 0..<n {
        var s = a[j * n + j]
        for k in 0..<j { s -= a[j * n + k] * a[j * n + k] }
        guard s > 0 else { return false }
        let l = s.squareRoot()
        a[j * n + j] = l
        for i in (j + 1)..<max(j + 1, n) {
            var t = a[i * n + j]
            for k in 0..<j { t -= a[i * n + k] * a[j * n + k] }
            a[i * n + j] = t / l
        }
    }
    for i in 0..<n {           // L·z = b
        var t = b[i]
        for k in 0..<i { t -= a[i * n + k] * b[k] }
        b[i] = t / a[i * n + i]
    }
    for i in stride(from: n - 1, through: 0, by: -1) {   // Lᵀ·x = z
        var t = b[i]
        for k in (i + 1)..<max(i + 1, n) { t -= a[k * n + i] * b[k] }
        b[i] = t / a[i * n + i]
    }
    return true
}

/// A fitted logistic regression over the dense encoding.
/// `logit = intercept + Σ weights[j]·x[j]`; contributions are exactly `weights[j]·x[j]`.
public struct LogisticModel: LogitModel, Codable, Sendable, Equatable {
    /// Float copies used for scoring (SIMD dot product).
    public var weights: [Float]
    public var intercept: Float
    /// The solver's Double solution (reported, used for validation loss).
    public var coefficients: [Double]
    public var interceptDouble: Double
    public var l2: Double
    public var iterations: Int
    public var gradientNorm: Double
    public var converged: Bool

    enum CodingKeys: String, CodingKey {
        case weights, intercept, coefficients, interceptDouble = "intercept_double", l2, iterations
        case gradientNorm = "gradient_norm", converged
    }

    public var inputWidth: Int { weights.count }

    public func makeScratch(maxRows: Int) -> ModelScratch { ModelScratch(maxRows: maxRows) }

    public func logits(_ input: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                       rows: Range<Int>, scratch: ModelScratch) {
        let d = weights.count
        weights.withUnsafeBufferPointer { w in
            for r in rows {
                let row = UnsafeBufferPointer(rebasing: input[(r * d)..<((r + 1) * d)])
                output[r] = intercept + dot(row, w)
            }
        }
    }

    public func contributions(_ row: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                              scratch: ModelScratch) -> Float {
        for j in 0..<weights.count { output[j] = weights[j] * row[j] }
        return intercept
    }
}

/// Class balancing of the training (fit) rows. Validation and test rows are never touched.
public enum Balancing: Codable, Sendable, Equatable {
    case none
    /// Row weights n / (2·n_class): both classes weigh the same in total.
    case balancedWeights
    /// Explicit class weights.
    case weights(positive: Float, negative: Float)
    /// Random under-sampling of the majority class to the minority count (seeded).
    case undersample
    /// Random over-sampling (with replacement) of the minority class to the majority count (seeded).
    case oversample

    public var name: String {
        switch self {
        case .none: return "none"
        case .balancedWeights: return "weights"
        case .weights(let p, let n): return "weights(\(p),\(n))"
        case .undersample: return "undersample"
        case .oversample: return "oversample"
        }
    }

    /// The balanced rows (the matrix's monotone signs stay).
    public func apply(to m: LabeledMatrix, seed: UInt64) -> LabeledMatrix {
        var out = resample(m, seed: seed)
        out.monotone = m.monotone
        return out
    }

    private func resample(_ m: LabeledMatrix, seed: UInt64) -> LabeledMatrix {
        let pos = m.y.indices.filter { m.y[$0] > 0.5 }
        let neg = m.y.indices.filter { m.y[$0] <= 0.5 }
        var rng = SplitMix64(seed: seed ^ 0xBA1A_4CE0)
        switch self {
        case .none:
            return m
        case .balancedWeights:
            guard !pos.isEmpty, !neg.isEmpty else { return m }
            let wp = Float(Double(m.rows) / (2 * Double(pos.count))), wn = Float(Double(m.rows) / (2 * Double(neg.count)))
            return LabeledMatrix(x: m.x, y: m.y, weights: m.y.map { $0 > 0.5 ? wp : wn })
        case .weights(let wp, let wn):
            return LabeledMatrix(x: m.x, y: m.y, weights: m.y.map { $0 > 0.5 ? wp : wn })
        case .undersample:
            let (minority, majority) = pos.count <= neg.count ? (pos, neg) : (neg, pos)
            var shuffled = majority
            shuffled.shuffle(using: &rng)
            let keep = (minority + shuffled.prefix(minority.count)).sorted()
            return m.selecting(rows: keep)
        case .oversample:
            let (minority, majority) = pos.count <= neg.count ? (pos, neg) : (neg, pos)
            guard !minority.isEmpty else { return m }
            var rows = Array(0..<m.rows)
            for _ in 0..<(majority.count - minority.count) {
                rows.append(minority[Int.random(in: 0..<minority.count, using: &rng)])
            }
            return m.selecting(rows: rows)
        }
    }
}
