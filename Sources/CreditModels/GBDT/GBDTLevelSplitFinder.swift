import CreditCore

/// Split finding for oblivious (symmetric) trees: one (feature, threshold or category,
/// missing side) for every node of a level, chosen by the gain summed over the level's nodes
/// (CatBoost's criterion with XGBoost's gain).
///
/// Per node the gain of a candidate is that of `findSplit` (free: T(G)²/(H+λ) terms;
/// categorical: λ + `catL2`; a monotone feature, or a node bounded by a monotone split above
/// it: the clamped values' scores). A node whose children would break `minDataInLeaf` or
/// `minChildWeight` adds 0 (it is split anyway: the level splits every node); a monotone
/// feature whose children come out of order in any node with rows on both sides makes the
/// candidate invalid. Numeric candidates: bins 0...b go left; categorical: one category goes
/// left (one-vs-rest). The missing bin tries both sides; with no missing values in the level
/// the default side is the one with more hessian.
///
/// A node's gain is piecewise constant between its non-empty bins, so each node adds its
/// changes of gain to difference arrays (only at its non-empty bins; wide features visit the
/// bitmap's marked bins) and one prefix sum per feature gives every candidate's total.
extension GBDTSplitFinder {
    /// Scratch of one thread's level scans: difference arrays of the widest feature's bins (2
    /// Double and 2 Int32 for the gain; the cosine score uses the Double pairs for its
    /// numerator and `denR`/`denL` for its denominator).
    final class LevelScratch {
        let capacity: Int
        let gainR: UnsafeMutablePointer<Double>, gainL: UnsafeMutablePointer<Double>
        let badR: UnsafeMutablePointer<Int32>, badL: UnsafeMutablePointer<Int32>
        let denR: UnsafeMutablePointer<Double>, denL: UnsafeMutablePointer<Double>
        init(capacity: Int) {
            self.capacity = max(capacity, 1)
            gainR = .allocate(capacity: self.capacity); gainL = .allocate(capacity: self.capacity)
            denR = .allocate(capacity: self.capacity); denL = .allocate(capacity: self.capacity)
            badR = .allocate(capacity: self.capacity); badL = .allocate(capacity: self.capacity)
        }
        deinit { gainR.deallocate(); gainL.deallocate(); badR.deallocate(); badL.deallocate(); denR.deallocate(); denL.deallocate() }
    }

    /// The gain of splitting one node into (cg, ch, cc) left and the rest right; nil when the
    /// candidate breaks the node's monotone order.
    @inline(__always)
    private func nodeGain(_ n: GBDTLeaf, _ cg: Double, _ ch: Double, _ cc: Int, sign: Int8, clamped: Bool,
                          lambda: Double, parentScore: Double) -> Double? {
        let rg = n.g - cg, rh = n.h - ch, rc = n.count - cc
        if cc == 0 || rc == 0 { return 0 }
        if clamped {
            let wl = leafValue(cg, ch, lower: n.lower, upper: n.upper), wr = leafValue(rg, rh, lower: n.lower, upper: n.upper)
            if sign != 0 && Double(sign) * (wr - wl) < 0 { return nil }
            if cc < p.minDataInLeaf || rc < p.minDataInLeaf || ch < p.minChildWeight || rh < p.minChildWeight { return 0 }
            let eta = p.learningRate
            return leafScore(cg, ch, weight: wl / eta, lambda: lambda) + leafScore(rg, rh, weight: wr / eta, lambda: lambda) - parentScore
        }
        if cc < p.minDataInLeaf || rc < p.minDataInLeaf || ch < p.minChildWeight || rh < p.minChildWeight { return 0 }
        return leafScore(cg, ch, lambda) + leafScore(rg, rh, lambda) - parentScore
    }

    /// The best level split over `features` (ascending ids) for `nodes` (their histograms and
    /// bitmaps at the same index); `gain` is the summed gain. Feature -1 when no candidate
    /// gains more than `minSplitGain`.
    func findLevelSplit(_ nodes: [GBDTLeaf], histograms: [UnsafePointer<Double>], bitmaps: [UnsafePointer<UInt64>],
                        features: [Int], scratch s: LevelScratch) -> GBDTSplit {
        var best = GBDTSplit()
        let minGain = max(p.minSplitGain, 1e-12)
        for f in features {
            let nb = numBins[f], o = slotOffset[f] * 4
            let isCat = cardinality[f] > 0
            // Candidates: numeric b in 0..<nb-1 (bins 0...b left); categorical c in 0..<nb ({c} left).
            let cands = isCat ? nb : nb - 1
            if cands < 1 { continue }
            precondition(cands <= s.capacity)
            for b in 0..<cands { s.gainR[b] = 0; s.gainL[b] = 0; s.badR[b] = 0; s.badL[b] = 0 }
            let sign = monotone[f]
            let lambda = isCat ? p.lambda + p.catL2 : p.lambda
            var anyMissing = false
            for (k, n) in nodes.enumerated() where n.count > 0 {
                let hist = histograms[k] + o
                let mg = hist[nb * 4], mh = hist[nb * 4 + 1], mc = Int(hist[nb * 4 + 2])
                if mc > 0 { anyMissing = true }
                let bounded = n.lower > -Double.infinity || n.upper < Double.infinity
                let clamped = !isCat && (sign != 0 || bounded)
                let parentScore = clamped
                    ? leafScore(n.g, n.h, weight: leafValue(n.g, n.h, lower: n.lower, upper: n.upper) / p.learningRate, lambda: lambda)
                    : leafScore(n.g, n.h, lambda)
                if isCat {
                    // Each candidate is independent: add directly.
                    for c in 0..<nb where hist[c * 4 + 2] > 0 || mc > 0 {
                        let cg = hist[c * 4], ch = hist[c * 4 + 1], cc = Int(hist[c * 4 + 2])
                        s.gainR[c] += nodeGain(n, cg, ch, cc, sign: 0, clamped: false, lambda: lambda, parentScore: parentScore) ?? 0
                        if mc > 0 {
                            s.gainL[c] += nodeGain(n, cg + mg, ch + mh, cc + mc, sign: 0, clamped: false, lambda: lambda, parentScore: parentScore) ?? 0
                        }
                    }
                    continue
                }
                // Numeric: the node's gain changes only at its non-empty bins; record the changes.
                var lg = 0.0, lh = 0.0, lc = 0
                var lastR = 0.0, lastL = 0.0, lastBadR: Int32 = 0, lastBadL: Int32 = 0
                @inline(__always) func visit(_ b: Int) {
                    let c = Int(hist[b * 4 + 2])
                    if c == 0 { return }
                    lg += hist[b * 4]; lh += hist[b * 4 + 1]; lc += c
                    let gr = nodeGain(n, lg, lh, lc, sign: sign, clamped: clamped, lambda: lambda, parentScore: parentScore)
                    let gr0 = gr ?? 0, br: Int32 = gr == nil ? 1 : 0
                    s.gainR[b] += gr0 - lastR; s.badR[b] += br - lastBadR
                    lastR = gr0; lastBadR = br
                    let gl = mc > 0 ? nodeGain(n, lg + mg, lh + mh, lc + mc, sign: sign, clamped: clamped, lambda: lambda, parentScore: parentScore) : gr
                    let gl0 = gl ?? 0, bl: Int32 = gl == nil ? 1 : 0
                    s.gainL[b] += gl0 - lastL; s.badL[b] += bl - lastBadL
                    lastL = gl0; lastBadL = bl
                }
                if bitBase[f] >= 0 {
                    forEachSetBit(bitmaps[k] + bitBase[f], below: nb - 1, visit)
                } else {
                    for b in 0..<(nb - 1) { visit(b) }
                }
            }
            if !isCat {
                // Prefix sums turn the changes into every threshold's total.
                var r = 0.0, l = 0.0, br: Int32 = 0, bl: Int32 = 0
                for b in 0..<cands {
                    r += s.gainR[b]; l += s.gainL[b]; br += s.badR[b]; bl += s.badL[b]
                    s.gainR[b] = br > 0 ? -.infinity : r
                    s.gainL[b] = bl > 0 ? -.infinity : l
                }
            }
            for b in 0..<cands {
                for missLeft in anyMissing ? [false, true] : [false] {
                    let gain = missLeft ? s.gainL[b] : s.gainR[b]
                    if gain > best.gain && gain > minGain {
                        best = GBDTSplit(gain: gain, feature: f, bin: isCat ? 0 : b, defaultLeft: missLeft, isCategorical: isCat,
                                         leftCategories: isCat ? [b] : [])
                    }
                }
            }
        }
        return best
    }

    /// Rows of `nodes` in the missing bin of `f`.
    func missingCount(_ f: Int, histograms: [UnsafePointer<Double>]) -> Double {
        let o = (slotOffset[f] + numBins[f]) * 4 + 2
        return histograms.reduce(0) { $0 + $1[o] }
    }

    /// The left child's (g, h, count) of node `n` under level split `s` (from its histogram).
    func leftSums(_ s: GBDTSplit, histogram hist: UnsafePointer<Double>) -> (g: Double, h: Double, count: Int) {
        let f = s.feature, nb = numBins[f], o = slotOffset[f] * 4
        var g = 0.0, h = 0.0, c = 0.0
        if s.isCategorical {
            let k = s.leftCategories[0]
            g = hist[o + k * 4]; h = hist[o + k * 4 + 1]; c = hist[o + k * 4 + 2]
        } else {
            for b in 0...s.bin { g += hist[o + b * 4]; h += hist[o + b * 4 + 1]; c += hist[o + b * 4 + 2] }
        }
        if s.defaultLeft { g += hist[o + nb * 4]; h += hist[o + nb * 4 + 1]; c += hist[o + nb * 4 + 2] }
        return (g, h, Int(c))
    }
}
