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
