import CreditCore

/// The split scan of a monotone numeric feature, and of every numeric feature below a
/// monotone split (XGBoost's and LightGBM's `monotone_constraints`; `GBDTSplitFinder`).
///
/// Both children's values are clamped to the leaf's bounds, a split whose children are out of
/// order (left > right for +1, left < right for −1) is refused, and the gain is that of the
/// clamped values. The tree learner then bounds each child by the midpoint of the two, so
/// every leaf of the left subtree stays on its side of every leaf of the right one.
///
/// On the loan book most nodes lie below a constrained split, so this scan runs for most
/// (node, feature) pairs: without L1 it takes the hot path of `findSplit` (the candidates'
/// left sums in scan order, their gains four at a time by `CreditCore.monotoneSplitGains`, the
/// first best) with the same arithmetic, candidates and order as the general loop, which a
/// test compares on random histograms.
extension GBDTSplitFinder {
    /// A leaf's share of the gain when its (unshrunk) weight is `w`, not the free optimum:
    /// −(2·G·w + (H+λ)·w²), which is T(G)²/(H+λ) at w = −G/(H+λ) (XGBoost's `CalcGainGivenWeight`).
    @inline(__always)
    func leafScore(_ g: Double, _ h: Double, weight w: Double, lambda: Double) -> Double {
        -(2 * g * w + (h + lambda) * w * w)
    }

    /// The best split of feature `f` under monotone scoring, into `best` when its gain is
    /// higher. Wide features visit only their bitmap's marked bins (unmarked slots are exactly
    /// zero, so the sums and candidates are the same as a scan of every bin). `general`: take
    /// the general loop even without L1 (tests compare the two).
    func findMonotoneSplit(_ leaf: GBDTLeaf, feature f: Int, histogram hist: UnsafePointer<Double>, bitmap bits: UnsafePointer<UInt64>,
                           parentScore: Double, minGain: Double, best: inout GBDTSplit, scratch: ScanScratch, general: Bool = false) {
        if numBins[f] < 2 { return }
        if p.alpha == 0 && !general {
            let o = slotOffset[f] * 4, nb = numBins[f]
            let mg = hist[o + nb * 4], mh = hist[o + nb * 4 + 1], mc = hist[o + nb * 4 + 2]
            let n = gatherCandidates(hist + o, feature: f, bitmap: bits, missing: mg, mh, mc, into: scratch)
            let node = SplitGainNode(g: leaf.g, h: leaf.h, count: Double(leaf.count), lambda: p.lambda, minData: Double(p.minDataInLeaf),
                                     minChild: p.minChildWeight, parent: parentScore)
            let bounds = SplitGainBounds(eta: p.learningRate, lower: leaf.lower, upper: leaf.upper, sign: Double(monotone[f]))
            monotoneSplitGains(g: scratch.g, h: scratch.h, c: scratch.c, count: n, node: node, bounds: bounds, gains: scratch.gains)
            takeBest(scratch, count: n, feature: f, leaf, hasMissing: mc > 0, minGain: minGain, best: &best)
            return
        }
        let sign = Double(monotone[f])
        let o = slotOffset[f] * 4, nb = numBins[f]
        let mg = hist[o + nb * 4], mh = hist[o + nb * 4 + 1], mc = Int(hist[o + nb * 4 + 2])
        let h = hist + o, eta = p.learningRate, lambda = p.lambda
        var lg = 0.0, lh = 0.0, lc = 0
        @inline(__always) func visit(_ b: Int) {
            lg += h[b * 4]; lh += h[b * 4 + 1]; lc += Int(h[b * 4 + 2])
            if h[b * 4 + 2] == 0 { return } // same partition as the previous bin
            for m in 0..<(mc > 0 ? 2 : 1) {
                let missLeft = m == 1
                let cg = missLeft ? lg + mg : lg, ch = missLeft ? lh + mh : lh, cc = missLeft ? lc + mc : lc
                let rg = leaf.g - cg, rh = leaf.h - ch, rc = leaf.count - cc
                if cc < p.minDataInLeaf || rc < p.minDataInLeaf || ch < p.minChildWeight || rh < p.minChildWeight { continue }
                let wl = leafValue(cg, ch, lower: leaf.lower, upper: leaf.upper)
                let wr = leafValue(rg, rh, lower: leaf.lower, upper: leaf.upper)
                if sign * (wr - wl) < 0 { continue }
                let gain = leafScore(cg, ch, weight: wl / eta, lambda: lambda) + leafScore(rg, rh, weight: wr / eta, lambda: lambda) - parentScore
                if gain > best.gain && gain > minGain {
                    best = GBDTSplit(gain: gain, feature: f, bin: b, defaultLeft: mc > 0 ? missLeft : ch > rh, isCategorical: false,
                                     leftG: cg, leftH: ch, leftCount: cc, rightG: rg, rightH: rh, rightCount: rc)
                }
            }
        }
        if bitBase[f] >= 0 { forEachSetBit(bits + bitBase[f], below: nb - 1, visit) } else { for b in 0..<(nb - 1) { visit(b) } }
    }
}
