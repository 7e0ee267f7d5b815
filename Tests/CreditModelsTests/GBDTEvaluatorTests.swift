import CreditCore
import CreditModels
import Foundation
import Testing

/// Differential tests of the compiled GBDT layout (`GBDTEvaluator`, behind `GBDTModel.logits`
/// and `contributions`) against the node-array reference walks: identical bits required.
@Suite("GBDT compiled evaluator")
struct GBDTEvaluatorTests {
    /// Numeric columns plus categoricals of 1, 2 and 3 mask words (cardinality 5, 40, 70), and
    /// around the block quantizer's 16-code limit (15, 16).
    static let columns = [
        FeatureColumn(name: "x0", source: "x0", kind: .numeric),
        FeatureColumn(name: "x1", source: "x1", kind: .numeric),
        FeatureColumn(name: "c0", source: "c0", kind: .categorical(cardinality: 5)),
        FeatureColumn(name: "x2", source: "x2", kind: .numeric),
        FeatureColumn(name: "c1", source: "c1", kind: .categorical(cardinality: 40)),
        FeatureColumn(name: "c2", source: "c2", kind: .categorical(cardinality: 70)),
        FeatureColumn(name: "x3", source: "x3", kind: .numeric),
        FeatureColumn(name: "c3", source: "c3", kind: .categorical(cardinality: 1)),
        // 16 codes with the invalid one: the largest the block quantizer's `maskBits` path
        // takes; one more code and it is quantized row by row.
        FeatureColumn(name: "c4", source: "c4", kind: .categorical(cardinality: 15)),
        FeatureColumn(name: "c5", source: "c5", kind: .categorical(cardinality: 16)),
    ]

    /// A random model whose thresholds include ±0, ±inf and extreme finite values.
    static func model(trees: Int, maxDepth: Int, seed: UInt64) -> GBDTModel {
        let m = gbdtRandomModel(columns: columns, trees: trees, maxDepth: maxDepth, seed: seed)
        var rng = SplitMix64(seed: seed ^ 0xABCD)
        let special: [Float] = [0, -0.0, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                .leastNonzeroMagnitude, 1e-30]
        var threshold = m.threshold
        for n in threshold.indices where m.feature[n] >= 0 && m.catOffset[n] < 0 && rng.uniform() < 0.15 {
            threshold[n] = special[Int(rng.next() % UInt64(special.count))]
        }
        return GBDTModel(inputWidth: m.inputWidth, featureCardinality: m.featureCardinality, baseScore: m.baseScore,
                         treeRoots: m.treeRoots, treeDepths: m.treeDepths, feature: m.feature, threshold: threshold,
                         defaultLeft: m.defaultLeft, left: m.left, right: m.right, value: m.value, cover: m.cover,
                         catOffset: m.catOffset, catBits: m.catBits)
    }

    /// `gbdtRandomInputs` plus -0.0, subnormals, extreme finite values, huge and fractional codes.
    static func inputs(rows: Int, seed: UInt64) -> [Float] {
        var x = gbdtRandomInputs(columns: columns, rows: rows, seed: seed)
        var rng = SplitMix64(seed: seed ^ 0x5555)
        let special: [Float] = [-0.0, 0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .greatestFiniteMagnitude,
                                -.greatestFiniteMagnitude, 1e10, -1e10, 0.5, 1e-30, 4.0000005, 39.999996, 69, 70, 71, -1, 2e9, 14, 15, 16]
        for i in x.indices where rng.uniform() < 0.08 { x[i] = special[Int(rng.next() % UInt64(special.count))] }
        return x
    }

    static func reference(_ m: GBDTModel, _ x: [Float], row r: Int) -> Float {
        let w = m.inputWidth
        return x.withUnsafeBufferPointer { m.referenceLogit(UnsafeBufferPointer(rebasing: $0[(r * w)..<((r + 1) * w)])) }
    }

    @Test("logits == referenceLogit bit for bit: random models (depth 0–8), nasty inputs, ranges with tails 1…300")
    func logitsMatchReference() {
        for seed in UInt64(1)...8 {
            let m = Self.model(trees: [1, 7, 8, 9, 33, 64, 100, 203][Int(seed - 1)], maxDepth: [0, 1, 2, 3, 5, 6, 7, 8][Int(seed - 1)], seed: seed)
            #expect(m.usesCompiledEvaluator, "seed \(seed) should compile")
            let rows = 700
            let x = Self.inputs(rows: rows, seed: seed * 31)
            let want = (0..<rows).map { Self.reference(m, x, row: $0) }
            let scratch = m.makeScratch(maxRows: 300)
            var rng = SplitMix64(seed: seed)
            var out = [Float](repeating: .nan, count: rows)
            // Ranges of every length 1…300 (at least once up to 80, then random), not starting at 0.
            var start = Int(rng.next() % 7) + 1
            var lengths = Array(1...80) + (0..<12).map { _ in Int(rng.next() % 300) + 1 } + [64, 128, 300]
            for i in stride(from: lengths.count - 1, to: 0, by: -1) { lengths.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            for len in lengths {
                if start + len > rows { start = Int(rng.next() % 5) + 1 }
                let end = min(rows, start + len)
                let before = out
                x.withUnsafeBufferPointer { xb in
                    out.withUnsafeMutableBufferPointer { ob in m.logits(xb, ob, rows: start..<end, scratch: scratch) }
                }
                for r in start..<end where out[r].bitPattern != want[r].bitPattern {
                    Issue.record("seed \(seed) range \(start)..<\(end) row \(r): \(out[r]) vs reference \(want[r])")
                }
                for r in 0..<rows where !(start..<end).contains(r) && out[r].bitPattern != before[r].bitPattern {
                    Issue.record("seed \(seed): row \(r) outside \(start)..<\(end) was written")
                }
                start = end
            }
        }
    }

    @Test("contributions: the leaf table == the node-array walk within 1e-9 (path adds bit for bit), sum to the logit")
    func contributionsMatchWalk() {
        let w = Self.columns.count
        for seed in UInt64(11)...16 {
            let m = Self.model(trees: 57, maxDepth: Int(seed) % 7 + 1, seed: seed)
            #expect(m.usesCompiledEvaluator)
            #expect(m.usesLeafAttributionTable)
            let x = Self.inputs(rows: 150, seed: seed)
            let scratch = m.makeScratch(maxRows: 1) as! GBDTScratch
            var out = [Float](repeating: 0, count: w)
            for r in 0..<150 {
                let row = Array(x[(r * w)..<((r + 1) * w)])
                let want = row.withUnsafeBufferPointer { m.walkContributionsDouble($0) }
                let path = row.withUnsafeBufferPointer { m.contributionsDouble($0, scratch: scratch, pathWalk: true) }
                #expect(path.phi.map(\.bitPattern) == want.map(\.bitPattern), "seed \(seed) row \(r)")
                let (bias, phi) = row.withUnsafeBufferPointer { m.contributionsDouble($0, scratch: scratch) }
                for c in 0..<w where !(abs(phi[c] - want[c]) <= 1e-9) {
                    Issue.record("seed \(seed) row \(r) column \(c): table \(phi[c]) vs walk \(want[c])")
                }
                let b = row.withUnsafeBufferPointer { rb in out.withUnsafeMutableBufferPointer { m.contributions(rb, $0, scratch: scratch) } }
                #expect(out.map(\.bitPattern) == phi.map { Float($0).bitPattern })
                #expect(b == Float(bias))
                let logit = Double(row.withUnsafeBufferPointer { m.referenceLogit($0) })
                #expect(abs(bias + phi.reduce(0, +) - logit) < 1e-5, "seed \(seed) row \(r)")
            }
        }
    }

    @Test("contributions of rows just scored by logits (recorded leaves) == a fresh computation; changed or foreign rows are recomputed")
    func contributionsAfterLogits() {
        let w = Self.columns.count
        let m = Self.model(trees: 150, maxDepth: 6, seed: 21)
        #expect(m.usesCompiledEvaluator)
        let rows = 300
        var x = Self.inputs(rows: rows, seed: 22)
        let scratch = m.makeScratch(maxRows: 200) as! GBDTScratch
        let fresh = m.makeScratch(maxRows: 1) as! GBDTScratch
        var out = [Float](repeating: 0, count: rows)
        var phi = [Float](repeating: 0, count: w)
        func check(_ r: Int, _ why: String) {
            let row = Array(x[(r * w)..<((r + 1) * w)])
            // From a fresh scratch (no recorded leaves): the same table rows, so the same bits.
            let want = row.withUnsafeBufferPointer { m.contributionsDouble($0, scratch: fresh).phi }
            let walk = row.withUnsafeBufferPointer { m.walkContributionsDouble($0) }
            // The row in place (the pointer logits saw), as the scoring session passes it.
            x.withUnsafeBufferPointer { xb in
                phi.withUnsafeMutableBufferPointer { _ = m.contributions(UnsafeBufferPointer(rebasing: xb[(r * w)..<((r + 1) * w)]), $0, scratch: scratch) }
            }
            #expect(phi.map(\.bitPattern) == want.map { Float($0).bitPattern }, "\(why) row \(r)")
            #expect(zip(want, walk).allSatisfy { abs($0 - $1) <= 1e-9 }, "\(why) row \(r): table vs walk")
        }
        // A range not starting at 0 and longer than the recorded rows (tail rows are recomputed).
        x.withUnsafeBufferPointer { xb in out.withUnsafeMutableBufferPointer { m.logits(xb, $0, rows: 37..<290, scratch: scratch) } }
        for r in [37, 38, 44, 45, 100, 101, 163, 164, 200, 236, 237, 289, 290, 299, 0, 36] { check(r, "after logits 37..<290") }
        // Change rows after scoring: their recorded leaves must not be used.
        for r in [40, 41, 120] {
            for c in 0..<w { x[r * w + c] = x[(r + 90) * w + c] }
            check(r, "changed")
        }
        // A row with the same bits copied elsewhere is computed from scratch (and agrees).
        let copy = Array(x[(50 * w)..<(51 * w)])
        let want = copy.withUnsafeBufferPointer { m.contributionsDouble($0, scratch: fresh).phi }
        let got = copy.withUnsafeBufferPointer { m.contributionsDouble($0, scratch: scratch) }
        #expect(got.phi.map(\.bitPattern) == want.map(\.bitPattern))
        // Leaves recorded by another model of the same shape on a shared scratch are not used.
        let other = Self.model(trees: 150, maxDepth: 6, seed: 99)
        x.withUnsafeBufferPointer { xb in out.withUnsafeMutableBufferPointer { other.logits(xb, $0, rows: 0..<100, scratch: scratch) } }
        for r in [0, 10, 99] { check(r, "after another model's logits") }
        // One-row and seven-row calls record their rows too.
        for range in [5..<6, 60..<67, 250..<251] {
            x.withUnsafeBufferPointer { xb in out.withUnsafeMutableBufferPointer { m.logits(xb, $0, rows: range, scratch: scratch) } }
            for r in range { check(r, "after logits \(range)") }
            check(range.upperBound, "outside \(range)")
        }
    }

    @Test("a model too deep for the heap layout falls back to the walk and still matches the reference")
    func deepModelFallsBack() {
        let m = Self.model(trees: 6, maxDepth: 16, seed: 77)
        #expect(m.treeDepths.max()! > 12)
        #expect(!m.usesCompiledEvaluator)
        let rows = 90
        let x = Self.inputs(rows: rows, seed: 78)
        var out = [Float](repeating: .nan, count: rows)
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { m.logits(xb, $0, rows: 3..<rows, scratch: m.makeScratch(maxRows: rows)) }
        }
        for r in 3..<rows { #expect(out[r].bitPattern == Self.reference(m, x, row: r).bitPattern, "row \(r)") }
        let w = m.inputWidth
        let row = Array(x[0..<w])
        let want = row.withUnsafeBufferPointer { m.walkContributionsDouble($0) }
        let got = row.withUnsafeBufferPointer { m.contributionsDouble($0, scratch: m.makeScratch(maxRows: 1) as! GBDTScratch) }
        #expect(got.phi == want)
    }

    @Test("a scratch from another model is not used (the walk runs) and results stay exact")
    func foreignScratch() {
        let small = Self.model(trees: 3, maxDepth: 2, seed: 5)
        let big = Self.model(trees: 120, maxDepth: 6, seed: 6)
        let rows = 40
        let x = Self.inputs(rows: rows, seed: 7)
        var out = [Float](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { big.logits(xb, $0, rows: 0..<rows, scratch: small.makeScratch(maxRows: rows)) }
        }
        for r in 0..<rows { #expect(out[r].bitPattern == Self.reference(big, x, row: r).bitPattern) }
    }

    @Test("the trained model compiles and its batched logits equal the reference on the synthetic book")
    func trainedModelCompiles() throws {
        let data = gbdtSynthetic(rows: 3000, seed: 9)
        var p = GBDTParameters()
        p.maxRounds = 60
        let model = try GBDTLearner(parameters: p).fit(train: data, validation: nil, seed: 3) { _ in }
        #expect(model.usesCompiledEvaluator)
        let scores = model.gbdtScores(data.x)
        let w = data.x.columns.count
        for r in 0..<data.x.rows {
            let ref = data.x.values.withUnsafeBufferPointer { model.referenceLogit(UnsafeBufferPointer(rebasing: $0[(r * w)..<((r + 1) * w)])) }
            #expect(scores[r].bitPattern == ref.bitPattern)
        }
    }
}
