import CreditCore
import CreditDomain
import CreditModels
import Foundation
import CreditTestSupport
import Testing

/// Issue 15: monotone constraints from the spec. GBDT bounds leaf values by each constrained
/// split's midpoint; logistic regression keeps coefficient signs; ordinal categories are ranks;
/// `auto` leaves out learners that do not enforce them.
@Suite struct MonotoneTests {
    /// Two columns: x0 with a U-shaped effect (risk falls, then rises), x1 a plain rising one.
    static func uShaped(rows n: Int, seed: UInt64) -> LabeledMatrix {
        var g = SplitMix64(seed: seed)
        var values: [Float] = [], y: [Float] = []
        for _ in 0..<n {
            let a = g.uniform() * 4 - 2, b = g.normal()
            let z = 1.5 * a * a - 2 + 0.8 * b
            values += [Float(a), Float(b)]
            y.append(g.uniform() < 1 / (1 + exp(-z)) ? 1 : 0)
        }
        let cols = [FeatureColumn(name: "x0", source: "x0", kind: .numeric), FeatureColumn(name: "x1", source: "x1", kind: .numeric)]
        return LabeledMatrix(x: FeatureMatrix(rows: n, columns: cols, values: values), y: y)
    }

    /// The largest fall (`direction` 1; rise for −1) of the model's logit as `column` rises over
    /// a grid, the other columns those of up to 50 `probes` rows.
    static func largestFall(_ model: any LogitModel, probes: LabeledMatrix, column: Int = 0, direction: Float = 1) -> Float {
        let grid = stride(from: -2.5, through: 2.5, by: 0.05).map { Float($0) }
        var worst: Float = 0
        for r in 0..<min(probes.rows, 50) {
            var rows: [Float] = []
            for v in grid {
                var row = Array(probes.x.values[(r * probes.x.cols)..<((r + 1) * probes.x.cols)])
                row[column] = v
                rows += row
            }
            let logits = model.gbdtScores(FeatureMatrix(rows: grid.count, columns: probes.x.columns, values: rows))
            for i in 1..<logits.count { worst = max(worst, direction * (logits[i - 1] - logits[i])) }
        }
        return worst
    }

    @Test func gbdtKeepsAnIncreasingConstraintThatTheDataContradicts() throws {
        var data = Self.uShaped(rows: 3000, seed: 1)
        var p = GBDTParameters()
        p.maxRounds = 80
        let free = try GBDTLearner(parameters: p).fit(train: data, validation: nil, seed: 3) { _ in }
        #expect(Self.largestFall(free, probes: data) > 0.5)   // the free model follows the U
        data.monotone = [1, 0]
        let up = try GBDTLearner(parameters: p).fit(train: data, validation: nil, seed: 3) { _ in }
        #expect(Self.largestFall(up, probes: data) == 0)
        data.monotone = [-1, 1]
        let down = try GBDTLearner(parameters: p).fit(train: data, validation: nil, seed: 3) { _ in }
        #expect(Self.largestFall(down, probes: data, column: 1) == 0)
        // Decreasing in x0: no rise anywhere (the free model rises on the U's right arm).
        #expect(Self.largestFall(free, probes: data, direction: -1) > 0.5)
        #expect(Self.largestFall(down, probes: data, direction: -1) == 0)
        // With missing values in the constrained column the tree still never falls on numbers.
        var holes = Self.uShaped(rows: 2000, seed: 2)
        for r in stride(from: 0, to: holes.rows, by: 7) { holes.x.values[r * 2] = .nan }
        holes.monotone = [1, 0]
        let m = try GBDTLearner(parameters: p).fit(train: holes, validation: nil, seed: 3) { _ in }
        #expect(Self.largestFall(m, probes: data) == 0)
    }

    /// Four columns where the constrained effects interact with a category and a free number:
    /// x0 rises (the data wiggle against it), x1 falls, x2 a category of 5, x3 free; holes in x0
    /// and x1.
    static func interacting(rows n: Int, seed: UInt64) -> LabeledMatrix {
        var g = SplitMix64(seed: seed)
        var values: [Float] = [], y: [Float] = []
        for r in 0..<n {
            let a = g.uniform() * 4 - 2, b = g.uniform() * 4 - 2, c = Double(Int(g.uniform() * 5) % 5), d = g.normal()
            let z = 1.2 * sin(3 * a) + a * d - 0.8 * b + (c == 2 ? 1.5 * a : 0) + 0.4 * c - 1
            values += [r % 9 == 0 ? .nan : Float(a), r % 11 == 0 ? .nan : Float(b), Float(c), Float(d)]
            y.append(g.uniform() < 1 / (1 + exp(-z)) ? 1 : 0)
        }
        let cols = [FeatureColumn(name: "x0", source: "x0", kind: .numeric), FeatureColumn(name: "x1", source: "x1", kind: .numeric),
                    FeatureColumn(name: "x2", source: "x2", kind: .categorical(cardinality: 5)),
                    FeatureColumn(name: "x3", source: "x3", kind: .numeric)]
        var m = LabeledMatrix(x: FeatureMatrix(rows: n, columns: cols, values: values), y: y)
        m.monotone = [1, -1, 0, 0]
        return m
    }

    @Test(arguments: GBDTMonotoneMethod.allCases)
    func bothMonotoneMethodsKeepEveryConstraintAcrossInteractions(_ method: GBDTMonotoneMethod) throws {
        let data = Self.interacting(rows: 4000, seed: 5)
        var p = GBDTParameters()
        p.maxRounds = 60
        p.monotoneMethod = method
        let model = try GBDTLearner(parameters: p).fit(train: data, validation: nil, seed: 3) { _ in }
        // Probes: training rows (holes, every category, any x3), x0 swept up, then x1.
        #expect(Self.largestFall(model, probes: data, column: 0) == 0)
        #expect(Self.largestFall(model, probes: data, column: 1, direction: -1) == 0)
        var free = data
        free.monotone = nil
        let unconstrained = try GBDTLearner(parameters: p).fit(train: free, validation: nil, seed: 3) { _ in }
        #expect(Self.largestFall(unconstrained, probes: data, column: 0) > 0.3)   // the data do pull against x0
    }

    /// What the intermediate method is for: one tree on z = 3·x0 + 2·x1, x0 rising, split at
    /// the root on x0. The basic method keeps every leaf left of that split below every leaf
    /// right of it (both below and above their midpoint), though x1 differs between them; the
    /// intermediate method orders only leaves whose x1 ranges meet, so a left leaf with a high
    /// x1 may pass a right leaf with a low one. Both stay monotone in x0.
    @Test(arguments: GBDTMonotoneMethod.allCases)
    func onlyTheIntermediateMethodLetsLeavesApartInAFreeFeaturePassEachOther(_ method: GBDTMonotoneMethod) throws {
        var g = SplitMix64(seed: 8)
        var values: [Float] = [], y: [Float] = []
        for _ in 0..<4000 {
            let a = g.uniform() * 4 - 2, b = g.uniform() * 4 - 2
            values += [Float(a), Float(b)]
            y.append(g.uniform() < 1 / (1 + exp(-(3 * a + 2 * b))) ? 1 : 0)
        }
        let cols = [FeatureColumn(name: "x0", source: "x0", kind: .numeric), FeatureColumn(name: "x1", source: "x1", kind: .numeric)]
        var data = LabeledMatrix(x: FeatureMatrix(rows: 4000, columns: cols, values: values), y: y)
        data.monotone = [1, 0]
        var p = GBDTParameters()
        p.maxRounds = 1; p.learningRate = 1; p.maxDepth = 3; p.maxLeaves = 8; p.colsampleByTree = 1
        p.monotoneMethod = method
        let model = try GBDTLearner(parameters: p).fit(train: data, validation: nil, seed: 3) { _ in }
        try #require(model.feature[0] == 0)
        let t = model.threshold[0]
        let grid = stride(from: -1.95, through: 1.95, by: 0.1).map { Float($0) }
        var points: [Float] = []
        for a in grid { for b in grid { points += [a, b] } }
        let z = model.gbdtScores(FeatureMatrix(rows: grid.count * grid.count, columns: cols, values: points))
        var leftMax = -Float.infinity, rightMin = Float.infinity
        for i in 0..<z.count { if points[2 * i] < t { leftMax = max(leftMax, z[i]) } else { rightMin = min(rightMin, z[i]) } }
        if method == .basic { #expect(leftMax <= rightMin) } else { #expect(leftMax > rightMin + 0.5) }
        #expect(Self.largestFall(model, probes: data) == 0)
    }

    @Test func logisticRegressionKeepsCoefficientSigns() throws {
        let data = Self.uShaped(rows: 2000, seed: 5)
        // x0's free coefficient is ~0; make the relation clearly negative by flipping x1.
        var flipped = data
        flipped.x.values = data.x.values.enumerated().map { $0.offset % 2 == 1 ? -$0.element : $0.element }
        let free = try LogisticLearner().fit(train: flipped, validation: nil, seed: 1) { _ in }
        #expect(free.coefficients[1] < -0.3)
        flipped.monotone = [0, 1]
        let held = try LogisticLearner().fit(train: flipped, validation: nil, seed: 1) { _ in }
        #expect(held.coefficients[1] == 0)
        #expect(held.converged)
        // A constraint the free optimum already keeps changes nothing.
        flipped.monotone = [0, -1]
        let same = try LogisticLearner().fit(train: flipped, validation: nil, seed: 1) { _ in }
        #expect(same.coefficients == free.coefficients)
    }

    static var ordinalSpec: DatasetSpec {
        var spec = Synthetic.spec
        let i = spec.features.firstIndex { $0.name == "loan_grade" }!
        spec.features[i].order = ["A", "B", "C", "D", "E", "F", "G"]
        spec.features[i].monotone = .increasing
        let r = spec.features.firstIndex { $0.name == "loan_int_rate" }!
        spec.features[r].monotone = .increasing
        return spec
    }

    @Test func ordinalFeatureIsItsRankInBothEncodings() throws {
        var raw = Synthetic.table(rows: 400, seed: 7)
        var grades = raw.column(named: "loan_grade")!.categoricalValues!
        grades[0] = "C"; grades[1] = "zzz"; grades[2] = nil; grades[3] = "A"; grades[4] = "G"
        raw.replace(.categorical("loan_grade", grades))
        let schema = try Schema(spec: Self.ordinalSpec, table: raw)
        let cleaned = try Cleaner(schema: schema).clean(raw, purpose: .training).table
        let pre = try Preprocessor.fit(table: cleaned, schema: schema, rows: Array(0..<cleaned.rowCount))
        let stats = pre.stats(named: "loan_grade")!
        #expect(stats.isOrdinal && stats.categories!.first == "A" && stats.categories! == stats.categories!.sorted())
        let native = try pre.transform(cleaned, encoding: .native, rows: [0, 1, 2, 3, 4])
        let j = native.columns.firstIndex { $0.source == "loan_grade" }!
        #expect(native.columns[j].kind == .numeric)
        let rankOfC = Float(stats.categories!.firstIndex(of: "C")!)
        #expect(native[0, j] == rankOfC && native[1, j].isNaN && native[2, j].isNaN && native[3, j] == 0)
        let dense = try pre.transform(cleaned, encoding: .dense, rows: [0, 3, 4])
        let cols = dense.columns.indices.filter { dense.columns[$0].source == "loan_grade" && dense.columns[$0].kind != .missingIndicator }
        #expect(cols.count == stats.categories!.count - 1)
        #expect(cols.map { dense[0, $0] }.reduce(0, +) == rankOfC)    // C: ">=B", ">=C"
        #expect(cols.map { dense[1, $0] }.reduce(0, +) == 0)          // A: none
        #expect(cols.map { dense[2, $0] }.allSatisfy { $0 == 1 })     // G: all
    }

    @Test func autoLeavesOutTheMLPAndTheChosenModelRisesWithTheConstrainedFeatures() throws {
        let raw = Synthetic.table(rows: 1500, seed: 21)
        var o = TrainingOptions()
        o.folds = 3
        let out = try Trainer.train(raw: raw, spec: Self.ordinalSpec, options: o)
        #expect(out.leaderboard.first { $0.algorithm == "mlp" }?.excluded != nil)
        #expect(out.artifact.model.algorithm != "mlp")
        for algorithm in ["gbdt", "logistic"] {
            o.algorithm = algorithm
            let model = try ScoringModel(artifact: try Trainer.train(raw: raw, spec: Self.ordinalSpec, options: o).artifact, modelID: "x")
            // Applicants that differ only in grade (A…G) or only in the rate: probabilities never fall.
            let base = Synthetic.table(rows: 30, seed: 4)
            for (column, values) in [("loan_grade", ["A", "B", "C", "D", "E", "F", "G"].map { Optional($0) }),
                                     ("loan_int_rate", [5.0, 7, 9, 11, 13, 15, 18, 22].map { Optional("\($0)") })] {
                var previous = [Double](repeating: -1, count: base.rowCount)
                for v in values {
                    var t = base
                    if column == "loan_grade" { t.replace(.categorical(column, [String?](repeating: v, count: t.rowCount))) }
                    else { t.replace(.numeric(column, [Double?](repeating: Double(v!)!, count: t.rowCount))) }
                    let p = try model.score(t).map { $0.score!.probability }
                    for r in 0..<p.count { #expect(p[r] >= previous[r], "\(algorithm) \(column)=\(v!) row \(r)") }
                    previous = p
                }
            }
        }
    }
}
