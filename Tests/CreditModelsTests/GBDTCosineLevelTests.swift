import CreditCore
@testable import CreditModels
import Foundation
import Testing

/// Oblivious trees scored by CatBoost's cosine (`GBDTLevelScore.cosine`): the level scan
/// against the score computed candidate by candidate, the leaf projection against
/// pool-adjacent-violators and the constraints it must meet, and trained models that keep
/// their monotone constraints.
@Suite("GBDT cosine levels and monotone projection")
struct GBDTCosineLevelTests {
    /// The cosine score's terms for one node split into (gl, nl) and (gr, nr), pooled when a
    /// constrained pair is out of order: the formula of GBDTCosineLevelSplit.swift, spelled out.
    static func nodeTerms(_ gl: Double, _ nl: Double, _ gr: Double, _ nr: Double, sign: Int8, lambda: Double, minData: Int) -> (Double, Double) {
        func term(_ g: Double, _ n: Double) -> (Double, Double) { n <= 0 ? (0, 0) : (g * g / (n + lambda), g * g * n / ((n + lambda) * (n + lambda))) }
        if nl < Double(minData) || nr < Double(minData) { return term(gl + gr, nl + nr) }
        let al = gl / (nl + lambda), ar = gr / (nr + lambda)
        if sign != 0 && nl > 0 && nr > 0 && Double(sign) * (al - ar) < 0 {
            let a = (nl * al + nr * ar) / (nl + nr)
            return (a * (gl + gr), a * a * (nl + nr))
        }
        let l = term(gl, nl), r = term(gr, nr)
        return (l.0 + r.0, l.1 + r.1)
    }

    @Test("cosine level scan == the score of every candidate computed directly (1-4 nodes, signs, missing values, bitmaps)")
    func cosineScanEqualsDirectScores() throws {
        let bins = try GBDTSplitScanTests.bins()
        var rng = SplitMix64(seed: 73)
        let words = (bins.numBins[1] + 1 + 63) / 64
        let scratch = GBDTSplitFinder.LevelScratch(capacity: bins.numBins.max()! + 1)
        var found = 0, checked = 0
        for trial in 0..<400 {
            let f = trial % 2, nodes = 1 + Int(rng.next() % 4), nb = bins.numBins[f], o = bins.slotOffset[f] * 4
            var p = GBDTParameters()
            p.lambda = [1, 3, 5][Int(rng.next() % 3)]
            p.minDataInLeaf = 1 + Int(rng.next() % 10)
            let sign = Int8(Int(rng.next() % 3) - 1)
            var monotone: [Int8] = [0, 0]
            monotone[f] = sign
            let finder = GBDTSplitFinder(parameters: p, bins: bins, bitBase: [-1, 0], monotone: monotone)
            let hists = (0..<nodes).map { _ in UnsafeMutablePointer<Double>.allocate(capacity: bins.totalSlots * 4) }
            let bits = (0..<nodes).map { _ in UnsafeMutablePointer<UInt64>.allocate(capacity: words) }
            defer { hists.forEach { $0.deallocate() }; bits.forEach { $0.deallocate() } }
            var leaves: [GBDTLeaf] = []
            for k in 0..<nodes {
                let (g, h, count) = GBDTSplitScanTests.fill(hists[k], bits[k], bins: bins, feature: f, words: words, rng: &rng)
                leaves.append(GBDTLeaf(node: k, start: 0, count: count, g: g, h: h, depth: 2, hist: k, split: GBDTSplit()))
            }
            let best = finder.findCosineLevelSplit(leaves, histograms: hists.map { UnsafePointer($0) }, bitmaps: bits.map { UnsafePointer($0) },
                                                   features: [f], scratch: scratch)
            // Direct: every threshold and missing side, each node's left sums added bin by bin.
            var base = (0.0, 0.0)
            for n in leaves where n.count > 0 {
                let t = Self.nodeTerms(n.g, Double(n.count), 0, 0, sign: 0, lambda: p.lambda, minData: 1)
                base = (base.0 + t.0, base.1 + t.1)
            }
            let score0 = base.1 > 0 ? base.0 / base.1.squareRoot() : 0
            let anyMissing = leaves.indices.contains { hists[$0][o + nb * 4 + 2] > 0 }
            var top = -Double.infinity
            var scores: [Int: Double] = [:]   // candidate b * 2 + missLeft
            for b in 0..<(nb - 1) {
                for missLeft in anyMissing ? [false, true] : [false] {
                    var num = 0.0, den = 0.0
                    for (k, n) in leaves.enumerated() where n.count > 0 {
                        var lg = 0.0, lc = 0.0
                        for j in 0...b { lg += hists[k][o + j * 4]; lc += hists[k][o + j * 4 + 2] }
                        // As the gain's scan: a node is split only at and after its first
                        // non-empty bin (before it, missing-left is not a candidate of its own).
                        if lc == 0 {
                            let t = Self.nodeTerms(n.g, Double(n.count), 0, 0, sign: 0, lambda: p.lambda, minData: 1)
                            num += t.0; den += t.1
                            continue
                        }
                        if missLeft { lg += hists[k][o + nb * 4]; lc += hists[k][o + nb * 4 + 2] }
                        let t = Self.nodeTerms(lg, lc, n.g - lg, Double(n.count) - lc, sign: sign, lambda: p.lambda, minData: p.minDataInLeaf)
                        num += t.0; den += t.1
                    }
                    let s = den > 0 ? num / den.squareRoot() - score0 : -.infinity
                    scores[b * 2 + (missLeft ? 1 : 0)] = s
                    top = max(top, s)
                }
            }
            checked += 1
            if top > 1e-9 {
                try #require(best.feature == f, "trial \(trial): no split, best direct score \(top)")
                found += 1
                let mine = try #require(scores[best.bin * 2 + (best.defaultLeft ? 1 : 0)])
                #expect(abs(best.gain - top) <= 1e-9 * max(1, abs(top)), "trial \(trial): scan gain \(best.gain), direct best \(top)")
                #expect(abs(mine - top) <= 1e-9 * max(1, abs(top)), "trial \(trial): the scan's candidate scores \(mine), the best \(top)")
            } else {
                #expect(best.feature == -1 || best.gain <= 1e-9, "trial \(trial): split \(best) where no candidate raises the score")
            }
        }
        #expect(found > 200 && checked == 400, "found \(found)")
    }

    /// Pool-adjacent-violators on one chain (values must rise along `order`).
    static func pava(_ t: [Double], _ w: [Double], order: [Int]) -> [Double] {
        var blocks: [(sum: Double, weight: Double, members: [Int])] = []
        for i in order {
            var b = (sum: t[i] * w[i], weight: w[i], members: [i])
            while let last = blocks.last, last.sum / last.weight >= b.sum / b.weight {
                b = (last.sum + b.sum, last.weight + b.weight, last.members + b.members)
                blocks.removeLast()
            }
            blocks.append(b)
        }
        var out = t
        for b in blocks { for i in b.members { out[i] = b.sum / b.weight } }
        return out
    }

    @Test("projection on one constrained feature == pool-adjacent-violators along its leaves; empty ranges are left out")
    func projectionOnAChainIsPAVA() {
        // Three levels on one rising feature: x <= 5, x <= 2, x <= 7 (level d is leaf index bit
        // 2 − d). Non-empty ranges, lowest first: (x<=2) = leaf 0b000, (2<x<=5) = 0b010,
        // (5<x<=7) = 0b110, (x>7) = 0b111.
        let levels = [5, 2, 7].map { GBDTMonotoneProjection.Level(feature: 0, bin: $0, sign: 1, isCategorical: false) }
        let pairs = GBDTMonotoneProjection.orderedPairs(levels: levels)
        let chain = [0b000, 0b010, 0b110, 0b111]
        #expect(Set(pairs.map { "\($0.0)<\($0.1)" }) == Set((0..<4).flatMap { i in ((i + 1)..<4).map { "\(chain[i])<\(chain[$0])" } }))
        var rng = SplitMix64(seed: 5)
        for _ in 0..<200 {
            let t = (0..<8).map { _ in rng.uniform() * 2 - 1 }, w = (0..<8).map { _ in 0.5 + rng.uniform() * 10 }
            let v = GBDTMonotoneProjection.project(targets: t, weights: w, pairs: pairs)
            let reference = Self.pava(t, w, order: chain)
            for k in chain { #expect(abs(v[k] - reference[k]) < 1e-12, "leaf \(k): \(v[k]) vs \(reference[k])") }
            for k in 0..<8 where !chain.contains(k) { #expect(v[k] == t[k]) }   // unreachable by numbers: untouched
        }
        // Falling: the same chain reversed.
        let down = [5, 2, 7].map { GBDTMonotoneProjection.Level(feature: 0, bin: $0, sign: -1, isCategorical: false) }
        #expect(Set(GBDTMonotoneProjection.orderedPairs(levels: down).map { "\($0.1)<\($0.0)" }) == Set(pairs.map { "\($0.0)<\($0.1)" }))
    }

    @Test("projection on random trees (two constrained features, a free one, a category) meets every pair and keeps ordered values")
    func projectionMeetsEveryPair() {
        var rng = SplitMix64(seed: 9)
        let signs: [Int8] = [1, -1, 0, 1]
        var pooled = 0
        for _ in 0..<500 {
            let depth = 1 + Int(rng.next() % 5)
            let levels = (0..<depth).map { _ -> GBDTMonotoneProjection.Level in
                let f = Int(rng.next() % 4)
                return .init(feature: f, bin: Int(rng.next() % 10), sign: signs[f], isCategorical: f == 3)
            }
            let pairs = GBDTMonotoneProjection.orderedPairs(levels: levels)
            let n = 1 << depth
            let t = (0..<n).map { _ in rng.uniform() * 2 - 1 }, w = (0..<n).map { _ in 0.1 + rng.uniform() * 5 }
            let v = GBDTMonotoneProjection.project(targets: t, weights: w, pairs: pairs)
            for (a, b) in pairs { #expect(v[a] <= v[b] + 1e-12, "pair \(a) <= \(b): \(v[a]) > \(v[b])") }
            if v != t { pooled += 1 }
            // Projected values already meet the pairs: a second projection changes nothing.
            let again = GBDTMonotoneProjection.project(targets: v, weights: w, pairs: pairs)
            #expect(zip(again, v).allSatisfy { abs($0 - $1) <= 1e-12 })
        }
        #expect(pooled > 100, "pooled \(pooled)")
    }

    @Test("oblivious trees with the cosine score keep monotone constraints across interactions, holes and a category")
    func cosineTreesKeepTheConstraints() throws {
        let data = MonotoneTests.interacting(rows: 4000, seed: 5)
        var p = GBDTParameters()
        p.treeShape = .oblivious
        p.levelScore = .cosine
        p.maxRounds = 60
        let model = try GBDTLearner(parameters: p).fit(train: data, validation: nil, seed: 3) { _ in }
        #expect(model.treeShape == .oblivious)
        #expect(MonotoneTests.largestFall(model, probes: data, column: 0) == 0)
        #expect(MonotoneTests.largestFall(model, probes: data, column: 1, direction: -1) == 0)
        var free = data
        free.monotone = nil
        let unconstrained = try GBDTLearner(parameters: p).fit(train: free, validation: nil, seed: 3) { _ in }
        #expect(MonotoneTests.largestFall(unconstrained, probes: data, column: 0) > 0.3)
        #expect(unconstrained != model)
    }
}
