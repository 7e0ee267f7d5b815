import CreditCore
@testable import CreditModels
import Foundation
import Testing

/// The split scans' hot paths against the general loops they replace, on random histograms:
/// the same split (gain bits, bin, default side, child sums and counts) or none.
@Suite("GBDT split scans")
struct GBDTSplitScanTests {
    /// Bins of one narrow (60 values) and one wide (1,500 values) numeric feature.
    static func bins() throws -> GBDTBins {
        let rows = 1_500
        var values = [Float]()
        for r in 0..<rows { values += [Float(r % 60), Float(r)] }
        let columns = [FeatureColumn(name: "narrow", source: "narrow", kind: .numeric),
                       FeatureColumn(name: "wide", source: "wide", kind: .numeric)]
        return try GBDTBins(FeatureMatrix(rows: rows, columns: columns, values: values), maxBins: 4096)
    }

    static func same(_ a: GBDTSplit, _ b: GBDTSplit) -> Bool {
        a.gain.bitPattern == b.gain.bitPattern && a.feature == b.feature && a.bin == b.bin && a.defaultLeft == b.defaultLeft
            && a.leftG.bitPattern == b.leftG.bitPattern && a.leftH.bitPattern == b.leftH.bitPattern && a.leftCount == b.leftCount
            && a.rightG.bitPattern == b.rightG.bitPattern && a.rightH.bitPattern == b.rightH.bitPattern && a.rightCount == b.rightCount
    }

    /// A random histogram of feature f in `hist` (and its marks in `bits` for the wide one):
    /// a sparse, half-full or dense node, with or without missing values; returns the totals.
    static func fill(_ hist: UnsafeMutablePointer<Double>, _ bits: UnsafeMutablePointer<UInt64>, bins: GBDTBins, feature f: Int,
                     words: Int, rng: inout SplitMix64) -> (g: Double, h: Double, count: Int) {
        let nb = bins.numBins[f], o = bins.slotOffset[f] * 4
        hist.initialize(repeating: 0, count: bins.totalSlots * 4)
        bits.initialize(repeating: 0, count: words)
        let fill = [0.05, 0.5, 0.95][Int(rng.next() % 3)]
        var g = 0.0, h = 0.0, count = 0
        for b in 0...nb {
            let missing = b == nb
            guard missing ? rng.uniform() < 0.6 : rng.uniform() < fill else { continue }
            let c = 1 + Int(rng.next() % 12)
            let sg = (rng.uniform() * 2 - 1) * Double(c) * 0.5, sh = (0.01 + rng.uniform() * 0.24) * Double(c)
            hist[o + b * 4] = sg; hist[o + b * 4 + 1] = sh; hist[o + b * 4 + 2] = Double(c)
            g += sg; h += sh; count += c
            if f == 1 { bits[b >> 6] |= 1 << UInt64(b & 63) }
        }
        return (g, h, count)
    }

    @Test("free scan without L1 (gathered candidates, CreditCore.splitGains) == the general loop on random histograms")
    func freeHotPathEqualsGeneral() throws {
        let bins = try Self.bins()
        var rng = SplitMix64(seed: 61)
        let words = (bins.numBins[1] + 1 + 63) / 64
        let hist = UnsafeMutablePointer<Double>.allocate(capacity: bins.totalSlots * 4)
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        defer { hist.deallocate(); bits.deallocate() }
        let scratch = GBDTSplitFinder.ScanScratch(bins: bins)
        var found = 0, none = 0
        for trial in 0..<3_000 {
            var p = GBDTParameters()
            p.minDataInLeaf = 1 + Int(rng.next() % 4)
            p.minChildWeight = Double(rng.next() % 3) * 0.5
            p.lambda = [0, 1, 3][Int(rng.next() % 3)]
            let finder = GBDTSplitFinder(parameters: p, bins: bins, bitBase: [-1, 0])
            let f = trial % 2
            let (g, h, count) = Self.fill(hist, bits, bins: bins, feature: f, words: words, rng: &rng)
            let leaf = GBDTLeaf(node: 0, start: 0, count: count, g: g, h: h, depth: 1, hist: 0, split: GBDTSplit())
            let hot = finder.findSplit(leaf, histogram: hist, bitmap: bits, features: [f], scratch: scratch)
            let general = finder.findSplit(leaf, histogram: hist, bitmap: bits, features: [f], scratch: scratch, general: true)
            #expect(Self.same(hot, general), "trial \(trial): \(hot) vs \(general)")
            if !Self.same(hot, general) { break }
            if hot.feature == f { found += 1 } else { none += 1 }
        }
        #expect(found > 1_000 && none > 50, "found \(found), none \(none)")
    }

    @Test("monotone scan without L1 (CreditCore.monotoneSplitGains) == the general loop: random histograms, bounds, signs, constraints, empty bins, bitmaps")
    func monotoneHotPathEqualsGeneral() throws {
        let bins = try Self.bins()
        #expect(bins.numBins == [60, 1_500])
        var rng = SplitMix64(seed: 16)
        let bitBase = [-1, 0]   // the wide feature keeps a bitmap from word 0
        let words = (bins.numBins[1] + 1 + 63) / 64
        let hist = UnsafeMutablePointer<Double>.allocate(capacity: bins.totalSlots * 4)
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        defer { hist.deallocate(); bits.deallocate() }
        let bounds: [(Double, Double)] = [(-.infinity, .infinity), (-0.05, .infinity), (-.infinity, 0.02), (-0.01, 0.03), (0, 0)]
        let scratch = GBDTSplitFinder.ScanScratch(bins: bins)
        var found = 0, none = 0, keptPrior = 0
        for trial in 0..<3_000 {
            var p = GBDTParameters()
            p.minDataInLeaf = 1 + Int(rng.next() % 4)
            p.minChildWeight = Double(rng.next() % 3) * 0.5
            p.lambda = [0, 1, 3][Int(rng.next() % 3)]
            p.learningRate = [0.1, 0.3][Int(rng.next() % 2)]
            let signs: [Int8] = [[-1, 1, 0][Int(rng.next() % 3)], [-1, 1, 0][Int(rng.next() % 3)]]
            let finder = GBDTSplitFinder(parameters: p, bins: bins, bitBase: bitBase, monotone: signs)
            let f = trial % 2
            let (g, h, count) = Self.fill(hist, bits, bins: bins, feature: f, words: words, rng: &rng)
            let (lower, upper) = bounds[Int(rng.next() % UInt64(bounds.count))]
            let leaf = GBDTLeaf(node: 0, start: 0, count: count, g: g, h: h, depth: 1, hist: 0, split: GBDTSplit(),
                                lower: lower, upper: upper)
            let parent = finder.leafScore(g, h, weight: finder.leafValue(g, h, lower: lower, upper: upper) / p.learningRate, lambda: p.lambda)
            // Sometimes an earlier feature's split is already the best to beat.
            var prior = GBDTSplit()
            if rng.uniform() < 0.3 { prior.gain = rng.uniform() * 0.5; prior.feature = 7 }
            var hot = prior, general = prior
            finder.findMonotoneSplit(leaf, feature: f, histogram: hist, bitmap: bits, parentScore: parent, minGain: 1e-12, best: &hot,
                                     scratch: scratch)
            finder.findMonotoneSplit(leaf, feature: f, histogram: hist, bitmap: bits, parentScore: parent, minGain: 1e-12, best: &general,
                                     scratch: scratch, general: true)
            #expect(Self.same(hot, general), "trial \(trial): \(hot) vs \(general)")
            if !Self.same(hot, general) { break }
            if hot.feature == f { found += 1 } else if hot.feature == 7 { keptPrior += 1 } else { none += 1 }
        }
        // The trials cover splits found, none found and an earlier best kept.
        #expect(found > 500 && none > 50 && keptPrior > 50, "found \(found), none \(none), kept prior \(keptPrior)")
    }
}
