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
/// (node, feature) pairs: without L1 it takes a hot path (counts as exact Doubles, the best
/// kept in locals) with the same arithmetic, candidates and order as the general loop, which
/// a test compares on random histograms.
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
                           parentScore: Double, minGain: Double, best: inout GBDTSplit, general: Bool = false) {
        if numBins[f] < 2 { return }
        if p.alpha == 0 && !general {
            monotoneScanNoL1(leaf, feature: f, histogram: hist, bitmap: bits, parentScore: parentScore, minGain: minGain, best: &best)
            return
        }
        let sign = Double(monotone[f])
        let o = slotOffset[f] * 3, nb = numBins[f]
        let mg = hist[o + nb * 3], mh = hist[o + nb * 3 + 1], mc = Int(hist[o + nb * 3 + 2])
        let h = hist + o, eta = p.learningRate, lambda = p.lambda
        var lg = 0.0, lh = 0.0, lc = 0
        @inline(__always) func visit(_ b: Int) {
            lg += h[b * 3]; lh += h[b * 3 + 1]; lc += Int(h[b * 3 + 2])
            if h[b * 3 + 2] == 0 { return } // same partition as the previous bin
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

    /// `findMonotoneSplit` without L1 (α = 0): the leaf value is −G/(H+λ)·η clamped to the
    /// bounds, exactly `leafValue(_:_:lower:upper:)`; per bin, missing right then missing left.
    private func monotoneScanNoL1(_ leaf: GBDTLeaf, feature f: Int, histogram hist: UnsafePointer<Double>, bitmap bits: UnsafePointer<UInt64>,
                                  parentScore: Double, minGain: Double, best: inout GBDTSplit) {
        let sign = Double(monotone[f])
        let o = slotOffset[f] * 3, nb = numBins[f]
        let h = hist + o
        let mg = h[nb * 3], mh = h[nb * 3 + 1], mcD = h[nb * 3 + 2]
        let hasMissing = mcD > 0
        let totG = leaf.g, totH = leaf.h, totCD = Double(leaf.count)
        let lower = leaf.lower, upper = leaf.upper, eta = p.learningRate, lambda = p.lambda
        let minDataD = Double(p.minDataInLeaf), minChild = p.minChildWeight
        var lg = 0.0, lh = 0.0, lc = 0.0
        var bestGain = best.gain, bestBin = -1, bestMissLeft = false
        var sg = 0.0, sh = 0.0, scD = 0.0   // left sums (without missing) at the best bin
        @inline(__always) func consider(_ b: Int, _ cg: Double, _ ch: Double, _ cc: Double, missLeft: Bool) {
            let rg = totG - cg, rh = totH - ch, rc = totCD - cc
            if cc < minDataD || rc < minDataD || ch < minChild || rh < minChild { return }
            let wl = min(max(-cg / (ch + lambda) * eta, lower), upper)
            let wr = min(max(-rg / (rh + lambda) * eta, lower), upper)
            if sign * (wr - wl) < 0 { return }
            let gain = leafScore(cg, ch, weight: wl / eta, lambda: lambda) + leafScore(rg, rh, weight: wr / eta, lambda: lambda) - parentScore
            if gain > bestGain && gain > minGain { bestGain = gain; bestBin = b; bestMissLeft = missLeft; sg = lg; sh = lh; scD = lc }
        }
        @inline(__always) func visit(_ b: Int) {
            let c = h[b * 3 + 2]
            lg += h[b * 3]; lh += h[b * 3 + 1]; lc += c
            if c == 0 { return } // same partition as the previous bin
            consider(b, lg, lh, lc, missLeft: false)
            if hasMissing { consider(b, lg + mg, lh + mh, lc + mcD, missLeft: true) }
        }
        if bitBase[f] >= 0 { forEachSetBit(bits + bitBase[f], below: nb - 1, visit) } else { for b in 0..<(nb - 1) { visit(b) } }
        guard bestBin >= 0 else { return }
        let cg = bestMissLeft ? sg + mg : sg, ch = bestMissLeft ? sh + mh : sh, cc = Int(bestMissLeft ? scD + mcD : scD)
        let rg = totG - cg, rh = totH - ch, rc = leaf.count - cc
        best = GBDTSplit(gain: bestGain, feature: f, bin: bestBin, defaultLeft: hasMissing ? bestMissLeft : ch > rh, isCategorical: false,
                         leftG: cg, leftH: ch, leftCount: cc, rightG: rg, rightH: rh, rightCount: rc)
    }
}
