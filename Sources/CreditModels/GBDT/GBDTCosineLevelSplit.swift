import CreditCore

/// Level splits of oblivious trees scored by CatBoost's `Cosine` score function
/// (`GBDTParameters.levelScore == .cosine`), with CatBoost's way of keeping monotone
/// constraints on symmetric trees.
///
/// The score of a candidate is the cosine between the gradient vector and its approximation by
/// the leaves the level would make: each leaf approximates its rows' gradients by a = G/(n+λ)
/// (first order, by row count: the structure is chosen as a regression on the gradients, the
/// leaf values are Newton steps afterwards), so score = Σ a·G / sqrt(Σ a²·n) over the leaves.
/// Unlike the gain it is normalised over the whole level, which on a book of hundreds of rows
/// keeps a few rows' strong gradients from deciding every level.
///
/// Monotone features are not a reason to refuse a candidate: a node whose two children would be
/// out of order for a constrained feature is scored as their pooled mean (its split adds
/// nothing), and the finished tree's leaf values are projected onto the constraints
/// (`GBDTMonotoneProjection`) — CatBoost's isotonic regression over the leaves, rather than
/// the midpoint bounds of the gain path. A node's numerator and denominator terms are piecewise
/// constant between its non-empty bins, so, as for the gain, difference arrays and one prefix
/// sum per feature give every candidate's totals.
extension GBDTSplitFinder {
    /// The best level split by the cosine score; `gain` is the score's rise over the level
    /// unsplit (feature -1 when no candidate raises it).
    func findCosineLevelSplit(_ nodes: [GBDTLeaf], histograms: [UnsafePointer<Double>], bitmaps: [UnsafePointer<UInt64>],
                              features: [Int], scratch s: LevelScratch) -> GBDTSplit {
        var best = GBDTSplit()
        let lambda = p.lambda
        @inline(__always) func term(_ g: Double, _ n: Double) -> (Double, Double) {
            if n <= 0 { return (0, 0) }
            let a = g / (n + lambda)
            return (a * g, a * a * n)
        }
        @inline(__always) func pair(_ gl: Double, _ nl: Double, _ gr: Double, _ nr: Double, sign: Int8) -> (Double, Double) {
            if nl < Double(p.minDataInLeaf) || nr < Double(p.minDataInLeaf) { return term(gl + gr, nl + nr) }
            if sign != 0 && nl > 0 && nr > 0 {
                let al = gl / (nl + lambda), ar = gr / (nr + lambda)
                // Values are −a: rising means −ar >= −al.
                if Double(sign) * (al - ar) < 0 {
                    let a = (nl * al + nr * ar) / (nl + nr)
                    return (a * (gl + gr), a * a * (nl + nr))
                }
            }
            let l = term(gl, nl), r = term(gr, nr)
            return (l.0 + r.0, l.1 + r.1)
        }
        var baseNum = 0.0, baseDen = 0.0
        for n in nodes where n.count > 0 { let t = term(n.g, Double(n.count)); baseNum += t.0; baseDen += t.1 }
        let score0 = baseDen > 0 ? baseNum / baseDen.squareRoot() : 0
        for f in features {
            let nb = numBins[f], o = slotOffset[f] * 4
            let isCat = cardinality[f] > 0
            let cands = isCat ? nb : nb - 1
            if cands < 1 { continue }
            for b in 0..<cands { s.gainR[b] = 0; s.gainL[b] = 0; s.denR[b] = 0; s.denL[b] = 0 }
            let sign: Int8 = isCat ? 0 : monotone[f]
            var anyMissing = false
            for (k, n) in nodes.enumerated() where n.count > 0 {
                let hist = histograms[k] + o
                let mg = hist[nb * 4], mc = hist[nb * 4 + 2]
                if mc > 0 { anyMissing = true }
                let tot = Double(n.count)
                let base = term(n.g, tot)
                if isCat {
                    for c in 0..<nb where hist[c * 4 + 2] > 0 || mc > 0 {
                        let cg = hist[c * 4], cc = hist[c * 4 + 2]
                        let r = pair(cg, cc, n.g - cg, tot - cc, sign: 0)
                        s.gainR[c] += r.0 - base.0; s.denR[c] += r.1 - base.1
                        if mc > 0 {
                            let l = pair(cg + mg, cc + mc, n.g - cg - mg, tot - cc - mc, sign: 0)
                            s.gainL[c] += l.0 - base.0; s.denL[c] += l.1 - base.1
                        }
                    }
                    continue
                }
                var lg = 0.0, lc = 0.0
                var lastR = (0.0, 0.0), lastL = (0.0, 0.0)
                @inline(__always) func visit(_ b: Int) {
                    let c = hist[b * 4 + 2]
                    if c == 0 { return }
                    lg += hist[b * 4]; lc += c
                    var r = pair(lg, lc, n.g - lg, tot - lc, sign: sign)
                    r = (r.0 - base.0, r.1 - base.1)
                    s.gainR[b] += r.0 - lastR.0; s.denR[b] += r.1 - lastR.1; lastR = r
                    var l = mc > 0 ? pair(lg + mg, lc + mc, n.g - lg - mg, tot - lc - mc, sign: sign) : (r.0 + base.0, r.1 + base.1)
                    l = (l.0 - base.0, l.1 - base.1)
                    s.gainL[b] += l.0 - lastL.0; s.denL[b] += l.1 - lastL.1; lastL = l
                }
                if bitBase[f] >= 0 { forEachSetBit(bitmaps[k] + bitBase[f], below: nb - 1, visit) } else { for b in 0..<(nb - 1) { visit(b) } }
            }
            if !isCat {
                var r = 0.0, l = 0.0, dr = 0.0, dl = 0.0
                for b in 0..<cands {
                    r += s.gainR[b]; l += s.gainL[b]; dr += s.denR[b]; dl += s.denL[b]
                    s.gainR[b] = r; s.gainL[b] = l; s.denR[b] = dr; s.denL[b] = dl
                }
            }
            for b in 0..<cands {
                for missLeft in anyMissing ? [false, true] : [false] {
                    let num = baseNum + (missLeft ? s.gainL[b] : s.gainR[b]), den = baseDen + (missLeft ? s.denL[b] : s.denR[b])
                    if den <= 0 { continue }
                    let gain = num / den.squareRoot() - score0
                    if gain > best.gain && gain > 1e-12 {
                        best = GBDTSplit(gain: gain, feature: f, bin: isCat ? 0 : b, defaultLeft: missLeft, isCategorical: isCat,
                                         leftCategories: isCat ? [b] : [])
                    }
                }
            }
        }
        return best
    }
}
