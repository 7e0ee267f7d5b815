import CreditCore
import CreditModels
import Foundation
import Testing

/// Oblivious (symmetric) trees: the learner option (`GBDTParameters.treeShape`) and the
/// compiled evaluator's level-by-level form (`GBDTObliviousLevels`, kernel `obliviousLogits`).
@Suite("GBDT oblivious trees")
struct GBDTObliviousTests {
    /// A random symmetric model over `GBDTEvaluatorTests.columns`: per tree a random depth
    /// (0…maxDepth, so depths are uneven) and per level one numeric or categorical test
    /// (thresholds include ±0, ±inf and extreme values; categorical left sets of 1–3 words).
    static func model(trees: Int, maxDepth: Int, seed: UInt64) -> GBDTModel {
        let columns = GBDTEvaluatorTests.columns
        var rng = SplitMix64(seed: seed)
        let card: [Int32] = columns.map { if case let .categorical(c) = $0.kind { return Int32(c) } else { return 0 } }
        var feature = [Int32](), threshold = [Float](), defaultLeft = [UInt8](), left = [Int32](), right = [Int32]()
        var value = [Float](), cover = [Float](), catOffset = [Int32](), catBits = [UInt32](), roots = [Int32](), depths = [Int32]()
        let special: [Float] = [0, -0.0, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e-30]
        for _ in 0..<trees {
            let D = Int(rng.next() % UInt64(maxDepth + 1))
            // One test per level.
            var tests: [(f: Int32, thr: Float, dl: UInt8, bits: [UInt32])] = []
            for _ in 0..<D {
                let f = Int(rng.next() % UInt64(columns.count))
                var bits: [UInt32] = []
                var thr: Float = 0
                if card[f] > 0 {
                    for _ in 0..<((Int(card[f]) + 31) / 32) { bits.append(UInt32(truncatingIfNeeded: rng.next()) & (card[f] >= 32 ? ~0 : (1 << UInt32(card[f])) - 1)) }
                } else {
                    thr = rng.uniform() < 0.2 ? special[Int(rng.next() % UInt64(special.count))] : Float((rng.uniform() * 4 - 2) * 4).rounded() / 4
                }
                tests.append((Int32(f), thr, rng.uniform() < 0.5 ? 1 : 0, bits))
            }
            // Breadth-first: level l's nodes, then the next level's.
            let root = feature.count
            roots.append(Int32(root)); depths.append(Int32(D))
            let total = (2 << D) - 1
            for i in 0..<total {
                let n = root + i
                let l = Int(log2(Double(i + 1)))   // level of heap position i+1
                if l < D {
                    let t = tests[l]
                    feature.append(t.f); threshold.append(t.thr); defaultLeft.append(t.dl)
                    left.append(Int32(root + 2 * i + 1)); right.append(Int32(root + 2 * i + 2))
                    value.append(0)
                    if card[Int(t.f)] > 0 { catOffset.append(Int32(catBits.count)); catBits += t.bits } else { catOffset.append(-1) }
                } else {
                    feature.append(-1); threshold.append(0); defaultLeft.append(0); left.append(Int32(n)); right.append(Int32(n))
                    value.append(Float(rng.uniform() * 2 - 1)); catOffset.append(-1)
                }
                cover.append(0)
            }
            // Covers: random leaves, sums above (children come after parents, so go backwards).
            for i in stride(from: total - 1, through: 0, by: -1) {
                let n = root + i
                cover[n] = feature[n] < 0 ? Float(1 + rng.next() % 50) : cover[Int(left[n])] + cover[Int(right[n])]
            }
        }
        return GBDTModel(inputWidth: columns.count, featureCardinality: card, baseScore: -0.5, treeRoots: roots, treeDepths: depths,
                         feature: feature, threshold: threshold, defaultLeft: defaultLeft, left: left, right: right, value: value,
                         cover: cover, catOffset: catOffset, catBits: catBits)
    }

    @Test("symmetric models run level by level; logits == referenceLogit bit for bit (NaN, ±inf, unseen codes, uneven depths)")
    func logitsMatchReference() {
        for seed in UInt64(1)...6 {
            let m = Self.model(trees: [1, 9, 40, 64, 130, 264][Int(seed - 1)], maxDepth: [0, 3, 6, 8, 6, 12][Int(seed - 1)], seed: seed)
            #expect(m.usesObliviousEvaluator, "seed \(seed)")
            let rows = 400
            let x = GBDTEvaluatorTests.inputs(rows: rows, seed: seed * 7)
            let want = (0..<rows).map { GBDTEvaluatorTests.reference(m, x, row: $0) }
            let scratch = m.makeScratch(maxRows: 300)
            var rng = SplitMix64(seed: seed)
            var out = [Float](repeating: .nan, count: rows)
            var start = 1
            for len in Array(1...70) + [100, 128, 300] + (0..<8).map({ _ in Int(rng.next() % 300) + 1 }) {
                if start + len > rows { start = Int(rng.next() % 5) }
                let end = min(rows, start + len)
                let before = out
                x.withUnsafeBufferPointer { xb in out.withUnsafeMutableBufferPointer { m.logits(xb, $0, rows: start..<end, scratch: scratch) } }
                for r in start..<end where out[r].bitPattern != want[r].bitPattern {
                    Issue.record("seed \(seed) range \(start)..<\(end) row \(r): \(out[r]) vs reference \(want[r])")
                }
                for r in 0..<rows where !(start..<end).contains(r) && out[r].bitPattern != before[r].bitPattern {
                    Issue.record("seed \(seed): row \(r) outside \(start)..<\(end) was written")
                }
                start = end
            }
            // Attributions from the recorded leaves and from scratch agree and sum to the logit.
            let w = m.inputWidth
            x.withUnsafeBufferPointer { xb in out.withUnsafeMutableBufferPointer { m.logits(xb, $0, rows: 0..<200, scratch: scratch) } }
            let fresh = m.makeScratch(maxRows: 1) as! GBDTScratch
            var phi = [Float](repeating: 0, count: w)
            for r in [0, 1, 15, 16, 17, 63, 64, 199, 250] {
                let row = Array(x[(r * w)..<((r + 1) * w)])
                let (bias, d) = row.withUnsafeBufferPointer { m.contributionsDouble($0, scratch: fresh) }
                let walk = row.withUnsafeBufferPointer { m.walkContributionsDouble($0) }
                #expect(zip(d, walk).allSatisfy { abs($0 - $1) <= 1e-9 }, "seed \(seed) row \(r)")
                #expect(abs(bias + d.reduce(0, +) - Double(want[r])) < 1e-5, "seed \(seed) row \(r)")
                x.withUnsafeBufferPointer { xb in
                    phi.withUnsafeMutableBufferPointer { _ = m.contributions(UnsafeBufferPointer(rebasing: xb[(r * w)..<((r + 1) * w)]), $0, scratch: scratch) }
                }
                #expect(phi.map(\.bitPattern) == d.map { Float($0).bitPattern }, "seed \(seed) row \(r): recorded leaves")
            }
        }
    }

    @Test("an asymmetric model does not take the oblivious form")
    func asymmetricModelIsNot() {
        let m = gbdtRandomModel(columns: GBDTEvaluatorTests.columns, trees: 30, maxDepth: 6, seed: 4)
        #expect(m.usesCompiledEvaluator)
        #expect(!m.usesObliviousEvaluator)
    }

    @Test("training with treeShape oblivious: symmetric trees, same model for 1 and 2 threads, stored shape round-trips")
    func trainsSymmetricTrees() throws {
        let data = gbdtSynthetic(rows: 3000, seed: 5)
        let valid = gbdtSynthetic(rows: 800, seed: 6)
        var p = GBDTParameters()
        p.treeShape = .oblivious
        p.maxRounds = 60
        let m = try GBDTLearner(parameters: p).fit(train: data, validation: valid, seed: 9) { _ in }
        #expect(m.treeShape == .oblivious)
        #expect(m.usesObliviousEvaluator)
        #expect(m.treeDepths.contains { $0 > 1 })
        // Every level of every tree tests one (feature, threshold, default side, category set).
        for (t, r) in m.treeRoots.enumerated() {
            var level = [Int(r)]
            for _ in 0..<Int(m.treeDepths[t]) {
                let n0 = level[0]
                for n in level {
                    #expect(m.feature[n] == m.feature[n0] && m.threshold[n].bitPattern == m.threshold[n0].bitPattern && m.defaultLeft[n] == m.defaultLeft[n0])
                }
                level = level.flatMap { [Int(m.left[$0]), Int(m.right[$0])] }
            }
            #expect(level.allSatisfy { m.feature[$0] < 0 })
        }
        var p1 = p
        p1.threads = 1
        let m1 = try GBDTLearner(parameters: p1).fit(train: data, validation: valid, seed: 9) { _ in }
        #expect(m1 == m)
        #expect(m1.value == m.value && m1.feature == m.feature && m1.threshold == m.threshold)
        // It learns: validation AUC well above chance.
        #expect(gbdtROCAUC(m.gbdtScores(valid.x), valid.y) > 0.75)
        // Encoded with its shape; a loss-guided model's encoding has no shape key (old bytes).
        let data1 = try JSONEncoder().encode(m)
        #expect(String(decoding: data1, as: UTF8.self).contains("\"treeShape\":\"oblivious\""))
        let back = try JSONDecoder().decode(GBDTModel.self, from: data1)
        #expect(back == m && back.treeShape == .oblivious)
        var q = GBDTParameters()
        q.maxRounds = 5
        let lg = try GBDTLearner(parameters: q).fit(train: data, validation: nil, seed: 9) { _ in }
        let data2 = try JSONEncoder().encode(lg)
        #expect(!String(decoding: data2, as: UTF8.self).contains("treeShape"))
        #expect(try JSONDecoder().decode(GBDTModel.self, from: data2).treeShape == .lossGuided)
    }

    @Test("oblivious trees honour monotone constraints the data contradicts")
    func monotone() throws {
        var data = MonotoneTests.uShaped(rows: 3000, seed: 1)
        var p = GBDTParameters()
        p.treeShape = .oblivious
        p.maxRounds = 80
        let free = try GBDTLearner(parameters: p).fit(train: data, validation: nil, seed: 3) { _ in }
        #expect(MonotoneTests.largestFall(free, probes: data) > 0.5)
        data.monotone = [1, 0]
        let up = try GBDTLearner(parameters: p).fit(train: data, validation: nil, seed: 3) { _ in }
        #expect(MonotoneTests.largestFall(up, probes: data) == 0)
        data.monotone = [-1, 1]
        let down = try GBDTLearner(parameters: p).fit(train: data, validation: nil, seed: 3) { _ in }
        #expect(MonotoneTests.largestFall(down, probes: data, column: 1) == 0)
        #expect(MonotoneTests.largestFall(down, probes: data, direction: -1) == 0)
    }
}
