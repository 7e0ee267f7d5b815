import CreditCore
import CreditDomain
import CreditModels
import Foundation
import CreditTestSupport
import Testing

@Suite struct LogisticTests {
    static func matrix(_ rows: [[Float]], _ y: [Float], weights: [Float]? = nil) -> LabeledMatrix {
        let cols = (0..<rows[0].count).map { FeatureColumn(name: "x\($0)", source: "x\($0)", kind: .numeric) }
        return LabeledMatrix(x: FeatureMatrix(rows: rows.count, columns: cols, values: rows.flatMap { $0 }), y: y, weights: weights)
    }

    @Test func closedFormSingleBinaryFeatureWithoutPenalty() throws {
        // x = 0: 3 defaults of 10; x = 1: 6 of 8. Unpenalised MLE: intercept = logit(0.3),
        // weight = logit(0.75) - logit(0.3).
        var rows: [[Float]] = [], y: [Float] = []
        for i in 0..<10 { rows.append([0]); y.append(i < 3 ? 1 : 0) }
        for i in 0..<8 { rows.append([1]); y.append(i < 6 ? 1 : 0) }
        let m = try LogisticLearner(l2: 0).fit(train: Self.matrix(rows, y), validation: nil, seed: 0) { _ in }
        func logit(_ p: Double) -> Double { log(p / (1 - p)) }
        #expect(m.converged && m.gradientNorm < 1e-6)
        #expect(abs(m.interceptDouble - logit(0.3)) < 1e-8)
        #expect(abs(m.coefficients[0] - (logit(0.75) - logit(0.3))) < 1e-8)
    }

    @Test func matchesIndependentGradientDescentWithL2() throws {
        var rng = SplitMix64(seed: 11)
        var rows: [[Float]] = [], y: [Float] = []
        for _ in 0..<200 {
            let a = Float.random(in: -2...2, using: &rng), b = Float.random(in: -1...1, using: &rng)
            rows.append([a, b, a * b])
            let z = 0.8 * Double(a) - 1.2 * Double(b) + 0.3
            y.append(Double.random(in: 0..<1, using: &rng) < 1 / (1 + exp(-z)) ? 1 : 0)
        }
        let lambda = 3.0
        let m = try LogisticLearner(l2: lambda).fit(train: Self.matrix(rows, y), validation: nil, seed: 0) { _ in }
        #expect(m.converged && m.gradientNorm < 1e-6 && m.iterations < 20)
        // Plain full-batch gradient descent on the same objective (sum loss + λ/2‖β‖²) / n.
        var beta = [0.0, 0.0, 0.0], b0 = 0.0
        let n = Double(rows.count)
        for _ in 0..<6000 {
            var g = [0.0, 0.0, 0.0], g0 = 0.0
            for (r, yi) in zip(rows, y) {
                let z = b0 + zip(r, beta).reduce(0) { $0 + Double($1.0) * $1.1 }
                let e = 1 / (1 + exp(-z)) - Double(yi)
                for j in 0..<3 { g[j] += e * Double(r[j]) }
                g0 += e
            }
            for j in 0..<3 { beta[j] -= 2.0 * (g[j] + lambda * beta[j]) / n }
            b0 -= 2.0 * g0 / n
        }
        for j in 0..<3 { #expect(abs(m.coefficients[j] - beta[j]) < 1e-5, "coefficient \(j): \(m.coefficients[j]) vs \(beta[j])") }
        #expect(abs(m.interceptDouble - b0) < 1e-5)
    }

    @Test func convergesOnSyntheticAndContributionsSumToLogit() throws {
        let raw = Synthetic.table(rows: 4000, seed: 21)
        let cleaned = try Cleaner(spec: Synthetic.spec).clean(raw, purpose: .training).table
        let p = try Preprocessor.fit(table: cleaned, spec: Synthetic.spec, rows: Array(0..<3000))
        let x = try p.transform(cleaned, encoding: .dense)
        let y = cleaned.column(named: "loan_status")!.numericValues!.map { Float($0!) }
        let train = LabeledMatrix(x: x, y: y).selecting(rows: Array(0..<3000))
        let iterations = LockedCounter()
        let m = try LogisticLearner().fit(train: train, validation: LabeledMatrix(x: x, y: y).selecting(rows: Array(3000..<4000)),
                                          seed: 1) { iterations.add($0.validationLoss != nil ? 1 : 0) }
        #expect(m.converged && m.gradientNorm < 1e-6)
        #expect(iterations.value == m.iterations + 1)   // one report per iteration, with validation loss
        let probs = Trainer.predict(m, x.selecting(rows: Array(3000..<4000)))
        let auc = Metrics.rocAUC(scores: probs, labels: y[3000...].map { $0 == 1 })
        #expect(auc > 0.75)
        // Contributions: bias + Σ = logit, within 1e-5.
        var logits = [Float](repeating: 0, count: x.rows)
        let scratch = m.makeScratch(maxRows: x.rows)
        var contrib = [Float](repeating: 0, count: x.cols)
        x.values.withUnsafeBufferPointer { input in
            logits.withUnsafeMutableBufferPointer { m.logits(input, $0, rows: 0..<x.rows, scratch: scratch) }
            for r in 0..<200 {
                let bias = contrib.withUnsafeMutableBufferPointer {
                    m.contributions(UnsafeBufferPointer(rebasing: input[(r * x.cols)..<((r + 1) * x.cols)]), $0, scratch: scratch)
                }
                let sum = Double(bias) + contrib.reduce(0.0) { $0 + Double($1) }
                #expect(abs(sum - Double(logits[r])) < 1e-5)
            }
        }
    }

    @Test func convergesToTightToleranceWithOutliersAndCollinearOneHots() throws {
        // Income outliers (standardized values near 100) and one-hot columns that sum to the
        // intercept make the Hessian ill-conditioned and the objective flat near the optimum
        // (a line search there only sees rounding noise and used to stall at ~1e-11).
        var raw = Synthetic.table(rows: 12000, seed: 77, missingRate: 0.03)
        var income = raw.column(named: "person_income")!.numericValues!
        for r in stride(from: 0, to: 12000, by: 50) { income[r] = 6_000_000 }
        raw.replace(.numeric("person_income", income))
        let cleaned = try Cleaner(spec: Synthetic.spec).clean(raw, purpose: .training).table
        let p = try Preprocessor.fit(table: cleaned, spec: Synthetic.spec, rows: Array(0..<cleaned.rowCount))
        let x = try p.transform(cleaned, encoding: .dense)
        let y = cleaned.column(named: "loan_status")!.numericValues!.map { Float($0!) }
        let m = try LogisticLearner(tolerance: 1e-14).fit(train: LabeledMatrix(x: x, y: y), validation: nil, seed: 0) { _ in }
        #expect(m.converged && m.gradientNorm < 1e-14 && m.iterations < 20, "iterations \(m.iterations), gradient norm \(m.gradientNorm)")
    }

    @Test func balancingIsSeededAndTouchesOnlyGivenRows() {
        let rows: [[Float]] = (0..<100).map { [Float($0)] }
        let y: [Float] = (0..<100).map { $0 % 5 == 0 ? 1 : 0 }   // 20 positives
        let m = Self.matrix(rows, y)
        let under = Balancing.undersample.apply(to: m, seed: 3)
        #expect(under.rows == 40 && under.y.filter { $0 == 1 }.count == 20)
        #expect(Balancing.undersample.apply(to: m, seed: 3).x == under.x)
        #expect(Balancing.undersample.apply(to: m, seed: 4).x != under.x)
        let over = Balancing.oversample.apply(to: m, seed: 3)
        #expect(over.rows == 160 && over.y.filter { $0 == 1 }.count == 80)
        let w = Balancing.balancedWeights.apply(to: m, seed: 0)
        let wp = zip(w.weights!, y).filter { $0.1 == 1 }.reduce(0) { $0 + $1.0 }
        let wn = zip(w.weights!, y).filter { $0.1 == 0 }.reduce(0) { $0 + $1.0 }
        #expect(abs(wp - wn) < 1e-3 && abs(wp + wn - 100) < 1e-3)
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add(_ k: Int) { lock.lock(); n += k; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
