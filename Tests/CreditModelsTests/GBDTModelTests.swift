import CreditCore
import CreditModels
import Foundation
import Testing

/// Synthetic native-encoded data: 4 numeric columns (x1 has 15 % NaN, x3 has some ±inf), two
/// categorical columns (c0: 5 categories, non-ordinal effect; c1: 3 categories with NaN).
func gbdtSynthetic(rows: Int, seed: UInt64) -> LabeledMatrix {
    var rng = SplitMix64(seed: seed)
    func normal() -> Double {
        let u = max(rng.uniform(), 1e-12), v = rng.uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
    let columns = [
        FeatureColumn(name: "x0", source: "x0", kind: .numeric),
        FeatureColumn(name: "x1", source: "x1", kind: .numeric),
        FeatureColumn(name: "x2", source: "x2", kind: .numeric),
        FeatureColumn(name: "x3", source: "x3", kind: .numeric),
        FeatureColumn(name: "c0", source: "c0", kind: .categorical(cardinality: 5)),
        FeatureColumn(name: "c1", source: "c1", kind: .categorical(cardinality: 3)),
    ]
    var values = [Float](), y = [Float]()
    for _ in 0..<rows {
        let x0 = normal(), x1 = normal(), x2 = (normal() * 4).rounded(), x3 = normal()
        let c0 = Int(rng.next() % 5), c1 = Int(rng.next() % 3)
        let x1Missing = rng.uniform() < 0.15, c1Missing = rng.uniform() < 0.1
        let x3v: Float = rng.uniform() < 0.01 ? (rng.uniform() < 0.5 ? .infinity : -.infinity) : Float(x3)
        var logit = 1.5 * x0 + 0.3 * x2 + ([1.2, -0.8, 0.9, -1.1, 0.1])[c0]
        logit += x1Missing ? 1.0 : -x1 * x1 + 0.5
        logit += c1Missing ? -0.7 : Double(c1) * 0.4
        logit += x3v.isInfinite ? (x3v > 0 ? 2 : -2) : 0.5 * x3
        values += [Float(x0), x1Missing ? .nan : Float(x1), Float(x2), x3v, Float(c0), c1Missing ? .nan : Float(c1)]
        y.append(rng.uniform() < 1 / (1 + exp(-logit)) ? 1 : 0)
    }
    return LabeledMatrix(x: FeatureMatrix(rows: rows, columns: columns, values: values), y: y)
}

/// A random valid model: random trees over `columns` with numeric and categorical nodes,
/// leaves pointing to themselves, covers = sum of children.
func gbdtRandomModel(columns: [FeatureColumn], trees: Int, maxDepth: Int, seed: UInt64) -> GBDTModel {
    var rng = SplitMix64(seed: seed)
    let card: [Int32] = columns.map { if case let .categorical(c) = $0.kind { return Int32(c) } else { return 0 } }
    var feature = [Int32](), threshold = [Float](), defaultLeft = [UInt8](), left = [Int32](), right = [Int32]()
    var value = [Float](), cover = [Float](), catOffset = [Int32](), catBits = [UInt32](), roots = [Int32](), depths = [Int32]()
    func newNode() -> Int {
        feature.append(-1); threshold.append(0); defaultLeft.append(0); left.append(0); right.append(0)
        value.append(0); cover.append(0); catOffset.append(-1)
        return feature.count - 1
    }
    // Returns (cover, depth).
    func grow(_ n: Int, depth: Int) -> (Float, Int) {
        let stop = depth >= maxDepth || (depth > 0 && rng.uniform() < 0.25)
        if stop {
            left[n] = Int32(n); right[n] = Int32(n)
            value[n] = Float(rng.uniform() * 2 - 1)
            cover[n] = Float(1 + rng.uniform() * 50).rounded()
            return (cover[n], depth)
        }
        let f = Int(rng.next() % UInt64(columns.count))
        feature[n] = Int32(f)
        defaultLeft[n] = rng.uniform() < 0.5 ? 1 : 0
        if card[f] > 0 {
            catOffset[n] = Int32(catBits.count)
            for _ in 0..<((Int(card[f]) + 31) / 32) { catBits.append(UInt32(truncatingIfNeeded: rng.next()) & (card[f] >= 32 ? ~0 : (1 << UInt32(card[f])) - 1)) }
        } else {
            threshold[n] = Float((rng.uniform() * 4 - 2) * 4).rounded() / 4
        }
        let l = newNode(), r = newNode()
        left[n] = Int32(l); right[n] = Int32(r)
        let (cl, dl) = grow(l, depth: depth + 1)
        let (cr, dr) = grow(r, depth: depth + 1)
        cover[n] = cl + cr
        return (cover[n], max(dl, dr))
    }
    for _ in 0..<trees {
        let root = newNode()
        roots.append(Int32(root))
        depths.append(Int32(grow(root, depth: 0).1))
    }
    return GBDTModel(inputWidth: columns.count, featureCardinality: card, baseScore: -0.75, treeRoots: roots, treeDepths: depths,
                     feature: feature, threshold: threshold, defaultLeft: defaultLeft, left: left, right: right, value: value,
                     cover: cover, catOffset: catOffset, catBits: catBits)
}

/// Random inputs with NaN, ±infinity, thresholds hit exactly, unseen and invalid category codes.
func gbdtRandomInputs(columns: [FeatureColumn], rows: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    var out = [Float]()
    for _ in 0..<rows {
        for c in columns {
            let u = rng.uniform()
            if case let .categorical(card) = c.kind {
                if u < 0.1 { out.append(.nan) } else if u < 0.2 { out.append(Float(card)) } // unseen
                else if u < 0.25 { out.append([-1, 2.5, Float(card + 3), .infinity][Int(rng.next() % 4)]) }
                else { out.append(Float(rng.next() % UInt64(card))) }
            } else {
                if u < 0.1 { out.append(.nan) } else if u < 0.15 { out.append(.infinity) } else if u < 0.2 { out.append(-.infinity) }
                else if u < 0.4 { out.append(Float((rng.uniform() * 4 - 2) * 4).rounded() / 4) } // on a threshold
                else { out.append(Float(rng.uniform() * 6 - 3)) }
            }
        }
    }
    return out
}

func gbdtEncode(_ m: GBDTModel) throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    return try e.encode(m)
}

@Suite("GBDT model and learner")
struct GBDTModelTests {
    let columns = gbdtSynthetic(rows: 1, seed: 0).x.columns

    @Test("fast batched evaluator == reference tree walk on random trees and nasty inputs")
    func fastMatchesReference() {
        for seed in UInt64(1)...6 {
            let model = gbdtRandomModel(columns: columns, trees: 40, maxDepth: Int(seed) + 1, seed: seed)
            let rows = 203
            let input = gbdtRandomInputs(columns: columns, rows: rows, seed: seed * 77)
            var fast = [Float](repeating: .nan, count: rows)
            let scratch = model.makeScratch(maxRows: rows)
            input.withUnsafeBufferPointer { inp in
                fast.withUnsafeMutableBufferPointer { out in
                    // Uneven ranges exercise partial 8-row blocks.
                    model.logits(inp, out, rows: 0..<5, scratch: scratch)
                    model.logits(inp, out, rows: 5..<100, scratch: scratch)
                    model.logits(inp, out, rows: 100..<rows, scratch: scratch)
                }
                for r in 0..<rows {
                    let ref = model.referenceLogit(UnsafeBufferPointer(rebasing: inp[(r * columns.count)..<((r + 1) * columns.count)]))
                    #expect(fast[r] == ref, "row \(r) seed \(seed)")
                }
            }
        }
    }

    @Test("routing: NaN/unseen/invalid categories take the default side, codes outside the bitset go right")
    func routingSemantics() {
        // One categorical stump: left set {1, 3}, default right; left leaf 1, right leaf -1.
        let cols = [FeatureColumn(name: "c", source: "c", kind: .categorical(cardinality: 4))]
        let m = GBDTModel(inputWidth: 1, featureCardinality: [4], baseScore: 0, treeRoots: [0], treeDepths: [1],
                          feature: [0, -1, -1], threshold: [0, 0, 0], defaultLeft: [0, 0, 0], left: [1, 1, 2], right: [2, 1, 2],
                          value: [0, 1, -1], cover: [2, 1, 1], catOffset: [0, -1, -1], catBits: [0b1010])
        _ = cols
        for (x, want) in [(Float(1), Float(1)), (3, 1), (0, -1), (2, -1), (.nan, -1), (4, -1), (1.5, -1), (-1, -1)] {
            let got = [x].withUnsafeBufferPointer { m.referenceLogit($0) }
            #expect(got == want, "code \(x)")
        }
        // Numeric stump x < 0.5 left, NaN default left; +inf right, -inf left.
        let n = GBDTModel(inputWidth: 1, featureCardinality: [0], baseScore: 0, treeRoots: [0], treeDepths: [1],
                          feature: [0, -1, -1], threshold: [0.5, 0, 0], defaultLeft: [1, 0, 0], left: [1, 1, 2], right: [2, 1, 2],
                          value: [0, 1, -1], cover: [2, 1, 1], catOffset: [-1, -1, -1], catBits: [])
        for (x, want) in [(Float(0.4999), Float(1)), (0.5, -1), (.nan, 1), (.infinity, -1), (-.infinity, 1)] {
            #expect([x].withUnsafeBufferPointer { n.referenceLogit($0) } == want, "x \(x)")
        }
    }

    @Test("TreeSHAP equals brute-force Shapley values on tiny trees")
    func treeSHAPBruteForce() {
        let cols = Array(columns.prefix(3)) + [columns[4]] // 3 numeric + 1 categorical
        for seed in UInt64(1)...8 {
            let model = gbdtRandomModel(columns: cols, trees: 3, maxDepth: 3, seed: seed + 100)
            let inputs = gbdtRandomInputs(columns: cols, rows: 10, seed: seed)
            let scratch = model.makeScratch(maxRows: 1) as! GBDTScratch
            for r in 0..<10 {
                let row = Array(inputs[(r * cols.count)..<((r + 1) * cols.count)])
                let (bias, phi) = row.withUnsafeBufferPointer { model.shapContributionsDouble($0, scratch: scratch) }
                let brute = bruteShapley(model, row: row)
                #expect(abs(bias - brute.bias) < 1e-9)
                for i in 0..<cols.count { #expect(abs(phi[i] - brute.phi[i]) < 1e-9, "seed \(seed) row \(r) feature \(i)") }
            }
        }
    }

    @Test("path attributions equal a brute-force reference walk on random trees (NaN, ±inf, unseen)")
    func pathAttributionsMatchReferenceWalk() {
        for seed in UInt64(1)...6 {
            let model = gbdtRandomModel(columns: columns, trees: 30, maxDepth: 5, seed: seed + 300)
            let inputs = gbdtRandomInputs(columns: columns, rows: 40, seed: seed + 7)
            let scratch = model.makeScratch(maxRows: 1) as! GBDTScratch
            var out = [Float](repeating: 0, count: columns.count)
            for r in 0..<40 {
                let row = Array(inputs[(r * columns.count)..<((r + 1) * columns.count)])
                let (bias, phi) = row.withUnsafeBufferPointer { model.contributionsDouble($0, scratch: scratch) }
                let ref = referencePathAttribution(model, row: row)
                #expect(abs(bias - ref.bias) < 1e-9)
                for i in 0..<columns.count { #expect(abs(phi[i] - ref.phi[i]) < 1e-9, "seed \(seed) row \(r) feature \(i)") }
                // Exact additivity: bias + Σφ is the logit (Float result, Double sums).
                let logit = row.withUnsafeBufferPointer { model.referenceLogit($0) }
                let fbias = row.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { model.contributions(x, $0, scratch: scratch) } }
                #expect(abs(Double(fbias) + out.reduce(0.0) { $0 + Double($1) } - Double(logit)) < 1e-5)
            }
        }
    }

    /// Saabas path attribution written from the definition: cover-weighted subtree means
    /// recomputed recursively, routing through `routeLeft` (a stump via the reference walk).
    func referencePathAttribution(_ m: GBDTModel, row: [Float]) -> (bias: Double, phi: [Double]) {
        func mean(_ n: Int) -> Double {
            if m.feature[n] < 0 { return Double(m.value[n]) }
            let l = Int(m.left[n]), r = Int(m.right[n])
            let c = Double(m.cover[n])
            return Double(m.cover[l]) / c * mean(l) + Double(m.cover[r]) / c * mean(r)
        }
        var phi = [Double](repeating: 0, count: m.inputWidth)
        var bias = Double(m.baseScore)
        for root in m.treeRoots {
            var n = Int(root)
            bias += mean(n)
            while m.feature[n] >= 0 {
                let f = Int(m.feature[n])
                let next = Int(routeLeft(m, n, row[f]) ? m.left[n] : m.right[n])
                phi[f] += mean(next) - mean(n)
                n = next
            }
        }
        return (bias, phi)
    }

    /// Exact Shapley values of the cover-weighted conditional expectation f_S(x).
    func bruteShapley(_ m: GBDTModel, row: [Float]) -> (bias: Double, phi: [Double]) {
        let w = m.inputWidth
        func fS(_ node: Int, _ s: Int) -> Double {
            let f = Int(m.feature[node])
            if f < 0 { return Double(m.value[node]) }
            if s & (1 << f) != 0 {
                let goLeft = routeLeft(m, node, row[f])
                return fS(Int(goLeft ? m.left[node] : m.right[node]), s)
            }
            let c = Double(m.cover[node])
            let l = Int(m.left[node]), r = Int(m.right[node])
            return Double(m.cover[l]) / c * fS(l, s) + Double(m.cover[r]) / c * fS(r, s)
        }
        func value(_ s: Int) -> Double { Double(m.baseScore) + m.treeRoots.reduce(0.0) { $0 + fS(Int($1), s) } }
        var fact = [1.0]
        for k in 1...w { fact.append(fact[k - 1] * Double(k)) }
        var phi = [Double](repeating: 0, count: w)
        for i in 0..<w {
            for s in 0..<(1 << w) where s & (1 << i) == 0 {
                let k = s.nonzeroBitCount
                phi[i] += fact[k] * fact[w - k - 1] / fact[w] * (value(s | (1 << i)) - value(s))
            }
        }
        return (value(0), phi)
    }

    /// The routing rule, via a one-node probe through the reference walk.
    func routeLeft(_ m: GBDTModel, _ node: Int, _ x: Float) -> Bool {
        // Build a stump with the node's split; compare leaf values.
        let f = Int(m.feature[node])
        let card = m.featureCardinality[f]
        var bits = [UInt32]()
        if m.catOffset[node] >= 0 {
            let words = (Int(card) + 31) / 32
            bits = Array(m.catBits[Int(m.catOffset[node])..<(Int(m.catOffset[node]) + words)])
        }
        let stump = GBDTModel(inputWidth: 1, featureCardinality: [card], baseScore: 0, treeRoots: [0], treeDepths: [1],
                              feature: [0, -1, -1], threshold: [m.threshold[node], 0, 0], defaultLeft: [m.defaultLeft[node], 0, 0],
                              left: [1, 1, 2], right: [2, 1, 2], value: [0, 1, -1], cover: [2, 1, 1],
                              catOffset: [m.catOffset[node] >= 0 ? 0 : -1, -1, -1], catBits: bits)
        return [x].withUnsafeBufferPointer { stump.referenceLogit($0) } == 1
    }

    @Test("trained model: path attributions and TreeSHAP sum to the logit within 1e-5, batched == reference")
    func trainedSHAPAndEvaluator() throws {
        let data = gbdtSynthetic(rows: 4000, seed: 11)
        var p = GBDTParameters()
        p.maxRounds = 120
        p.learningRate = 0.1
        let model = try GBDTLearner(parameters: p).fit(train: data, validation: nil, seed: 3) { _ in }
        #expect(model.treeCount == 120)
        let test = gbdtSynthetic(rows: 500, seed: 12).x
        let scores = model.gbdtScores(test)
        let scratch = model.makeScratch(maxRows: 1)
        var out = [Float](repeating: 0, count: test.cols)
        var maxErr = 0.0, maxSHAPErr = 0.0
        test.values.withUnsafeBufferPointer { inp in
            for r in 0..<test.rows {
                let row = UnsafeBufferPointer(rebasing: inp[(r * test.cols)..<((r + 1) * test.cols)])
                #expect(scores[r] == model.referenceLogit(row))
                let bias = out.withUnsafeMutableBufferPointer { model.contributions(row, $0, scratch: scratch) }
                let sum = Double(bias) + out.reduce(0.0) { $0 + Double($1) }
                maxErr = max(maxErr, abs(sum - Double(scores[r])))
                let shapBias = out.withUnsafeMutableBufferPointer { model.shapContributions(row, $0, scratch: scratch) }
                let shapSum = Double(shapBias) + out.reduce(0.0) { $0 + Double($1) }
                maxSHAPErr = max(maxSHAPErr, abs(shapSum - Double(scores[r])))
            }
        }
        #expect(maxErr < 1e-5, "path attribution: max |bias + Σφ − logit| = \(maxErr)")
        #expect(maxSHAPErr < 1e-5, "TreeSHAP: max |bias + Σφ − logit| = \(maxSHAPErr)")
        // The model learned something real.
        #expect(gbdtROCAUC(scores, gbdtSynthetic(rows: 500, seed: 12).y) > 0.8)
    }

    @Test("determinism: same seed → same model bytes and scores, for 1 and 2 threads; other seed differs")
    func determinism() throws {
        let data = gbdtSynthetic(rows: 9000, seed: 5)   // > 4096 rows: large nodes are partitioned on both threads
        let valid = gbdtSynthetic(rows: 1500, seed: 6)
        var p = GBDTParameters()
        p.maxRounds = 60
        p.learningRate = 0.1
        p.colsampleByNode = 0.8
        func fit(threads: Int, seed: UInt64) throws -> GBDTModel {
            var q = p
            q.threads = threads
            return try GBDTLearner(parameters: q).fit(train: data, validation: valid, seed: seed) { _ in }
        }
        let a = try fit(threads: 2, seed: 42), b = try fit(threads: 2, seed: 42), c = try fit(threads: 1, seed: 42)
        let d = try fit(threads: 2, seed: 43)
        #expect(try gbdtEncode(a) == gbdtEncode(b))
        #expect(try gbdtEncode(a) == gbdtEncode(c))
        #expect(try gbdtEncode(a) != gbdtEncode(d))
        #expect(a.gbdtScores(valid.x) == c.gbdtScores(valid.x))
        // One-byte bins (maxBins <= 255) too.
        p.maxBins = 255
        #expect(try gbdtEncode(fit(threads: 2, seed: 42)) == gbdtEncode(fit(threads: 1, seed: 42)))
        // Row subsampling: out-of-bag rows are scored in two halves.
        p.subsample = 0.7
        #expect(try gbdtEncode(fit(threads: 2, seed: 42)) == gbdtEncode(fit(threads: 1, seed: 42)))
    }

    /// The learner keeps training and validation scores incrementally, walking each new tree
    /// on the rows' bins (training cuts) rather than their floats; this checks that route
    /// equals the finished model's float walk — for two-byte (quantile, > 255 bins) and one-byte
    /// bin storage, with NaN, ±inf, out-of-range values and unseen category codes.
    @Test("cached scores walked on bins equal the finished model's scores", arguments: [4096, 64])
    func cachedScoresMatchModel(maxBins: Int) throws {
        let data = gbdtSynthetic(rows: 6000, seed: 15)
        var valid = gbdtSynthetic(rows: 1200, seed: 16)
        for r in stride(from: 0, to: valid.rows, by: 7) { valid.x[r, 4] = 5 }        // unseen c0 code
        for r in stride(from: 3, to: valid.rows, by: 11) { valid.x[r, 0] = 1e6 }     // beyond every cut
        for r in stride(from: 5, to: valid.rows, by: 13) { valid.x[r, 2] = -.infinity }
        var p = GBDTParameters()
        p.maxRounds = 40
        p.learningRate = 0.2
        p.earlyStoppingRounds = 0
        p.subsample = 0.7
        p.maxBins = maxBins
        p.trainLossEvery = 1   // the kept round's training loss is checked below
        final class Log: @unchecked Sendable { var items: [TrainingProgress] = [] }
        let log = Log()
        let model = try GBDTLearner(parameters: p).fit(train: data, validation: valid, seed: 9) { log.items.append($0) }
        let rounds = log.items.filter { $0.message == nil }
        #expect(rounds.count == 40)
        func logLoss(_ s: [Float], _ y: [Float]) -> Double {
            var sum = 0.0
            for (z, t) in zip(s.map(Double.init), y.map(Double.init)) { sum += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - t * z }
            return sum / Double(s.count)
        }
        let kept = rounds[model.treeCount - 1]
        let validLoss = logLoss(model.gbdtScores(valid.x), valid.y)
        #expect(abs(kept.validationLoss! - validLoss) < 1e-6, "validation: cached \(kept.validationLoss!) vs model \(validLoss)")
        let trainLoss = logLoss(model.gbdtScores(data.x), data.y)
        #expect(abs(kept.trainLoss! - trainLoss) < 1e-6, "training: cached \(kept.trainLoss!) vs model \(trainLoss)")
        #expect(gbdtROCAUC(model.gbdtScores(valid.x), valid.y) > 0.8)
    }

    @Test("Codable round trip scores identically")
    func codableRoundTrip() throws {
        let data = gbdtSynthetic(rows: 2000, seed: 8)
        var p = GBDTParameters()
        p.maxRounds = 40
        let model = try GBDTLearner(parameters: p).fit(train: data, validation: nil, seed: 1) { _ in }
        let decoded = try JSONDecoder().decode(GBDTModel.self, from: gbdtEncode(model))
        #expect(decoded == model)
        let x = FeatureMatrix(rows: 300, columns: data.x.columns, values: gbdtRandomInputs(columns: data.x.columns, rows: 300, seed: 9))
        #expect(decoded.gbdtScores(x) == model.gbdtScores(x))
        #expect(try gbdtEncode(decoded) == gbdtEncode(model))
    }

    @Test("early stopping keeps the best validation round; progress reports every round")
    func earlyStoppingAndProgress() throws {
        let data = gbdtSynthetic(rows: 3000, seed: 21), valid = gbdtSynthetic(rows: 1000, seed: 22)
        var p = GBDTParameters()
        p.learningRate = 0.3
        p.maxRounds = 400
        p.earlyStoppingRounds = 20
        final class Log: @unchecked Sendable { var items: [TrainingProgress] = [] }
        let log = Log()
        let model = try GBDTLearner(parameters: p).fit(train: data, validation: valid, seed: 4) { log.items.append($0) }
        let rounds = log.items.filter { $0.message == nil }
        #expect(rounds.map(\.iteration) == Array(1...rounds.count))
        #expect(rounds.count < 400, "early stopping should trigger with a high learning rate")
        let losses = rounds.map { $0.validationLoss! }
        let best = losses.indices.min { losses[$0] < losses[$1] }!
        #expect(model.treeCount == best + 1)
        #expect(rounds.count == best + 1 + 20)
        #expect(rounds.last!.trainLoss! < rounds.first!.trainLoss!)
        // The training loss (a logarithm per row) is reported on round 1, every 10th round and the last.
        let withLoss = rounds.filter { $0.trainLoss != nil }.map(\.iteration)
        #expect(withLoss == rounds.map(\.iteration).filter { $0 == 1 || $0 % 10 == 0 || $0 == rounds.count })
    }

    @Test("sample weights: base score is the weighted prior; up-weighting defaults raises scores")
    func sampleWeights() throws {
        let data = gbdtSynthetic(rows: 3000, seed: 31)
        var p = GBDTParameters()
        p.maxRounds = 30
        let pos = Double(data.y.filter { $0 == 1 }.count), neg = Double(data.rows) - pos
        let weighted = LabeledMatrix(x: data.x, y: data.y, weights: data.y.map { $0 == 1 ? 3 : 1 })
        let plain = try GBDTLearner(parameters: p).fit(train: data, validation: nil, seed: 1) { _ in }
        let heavy = try GBDTLearner(parameters: p).fit(train: weighted, validation: nil, seed: 1) { _ in }
        let basePlain = Double(plain.baseScore), baseHeavy = Double(heavy.baseScore)
        #expect(abs(basePlain - log(pos / neg)) < 1e-5)
        #expect(abs(baseHeavy - log(3 * pos / neg)) < 1e-5)
        let a = plain.gbdtScores(data.x), b = heavy.gbdtScores(data.x)
        let meanA: Double = a.reduce(0.0) { $0 + Double($1) } / Double(a.count)
        let meanB: Double = b.reduce(0.0) { $0 + Double($1) } / Double(b.count)
        #expect(meanB > meanA + 0.5)
        var bad = weighted
        bad.weights![9] = -1
        #expect(throws: GBDTError.invalidWeight(row: 9, value: -1)) {
            try GBDTLearner(parameters: p).fit(train: bad, validation: nil, seed: 1) { _ in }
        }
    }

    @Test("bad input is rejected with row and value")
    func badInput() throws {
        var data = gbdtSynthetic(rows: 100, seed: 1)
        data.y[7] = 0.5
        #expect(throws: GBDTError.invalidLabel(row: 7, value: 0.5)) {
            try GBDTLearner().fit(train: data, validation: nil, seed: 1) { _ in }
        }
        var data2 = gbdtSynthetic(rows: 100, seed: 1)
        data2.x[3, 4] = 2.5
        #expect(throws: GBDTError.invalidCategory(row: 3, column: "c0", value: 2.5, cardinality: 5)) {
            try GBDTLearner().fit(train: data2, validation: nil, seed: 1) { _ in }
        }
        var p = GBDTParameters()
        p.subsample = 0
        #expect(throws: GBDTError.self) { try GBDTLearner(parameters: p).fit(train: data2, validation: nil, seed: 1) { _ in } }
    }
}

@Suite("GBDT artifact decoding")
struct GBDTDecodingTests {
    @Test("a damaged model (child out of range, wrong depth) fails to decode with a message")
    func damaged() throws {
        let cols = gbdtSynthetic(rows: 1, seed: 0).x.columns
        let model = gbdtRandomModel(columns: cols, trees: 3, maxDepth: 3, seed: 5)
        var json = try JSONSerialization.jsonObject(with: gbdtEncode(model)) as! [String: Any]
        var left = json["left"] as! [Int]
        left[0] = 99_999
        json["left"] = left
        let bad = try JSONSerialization.data(withJSONObject: json)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(GBDTModel.self, from: bad) }
        var json2 = try JSONSerialization.jsonObject(with: gbdtEncode(model)) as! [String: Any]
        var depths = json2["treeDepths"] as! [Int]
        depths[0] += 1
        json2["treeDepths"] = depths
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(GBDTModel.self, from: JSONSerialization.data(withJSONObject: json2)) }
    }
}
