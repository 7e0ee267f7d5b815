import CreditCore

/// The best split of one leaf.
struct GBDTSplit {
    var gain = -Double.infinity
    var feature = -1
    /// Numeric: bins 0...bin go left. Categorical: unused.
    var bin = 0
    var defaultLeft = false
    var isCategorical = false
    /// Categorical: left set of codes.
    var leftCategories: [Int] = []
    var leftG = 0.0, leftH = 0.0, leftCount = 0
    var rightG = 0.0, rightH = 0.0, rightCount = 0
}

/// Split finding: scans a leaf's histogram, feature by feature, for the split of highest gain
/// (LightGBM's `FeatureHistogram::FindBestThreshold*`), and gives leaf values.
///
/// Gain = T(G_L)²/(H_L+λ) + T(G_R)²/(H_R+λ) − T(G)²/(H+λ) with T the L1 soft threshold, under
/// `minSplitGain`, `minChildWeight` and `minDataInLeaf` on both children; leaf value
/// −η·T(G)/(H+λ). Numeric features: bins 0...b go left, the missing bin tries both sides
/// (with no missing values in the node, the default side is the child with more hessian).
/// Categorical features: one-vs-rest with ≤ `maxCatToOneHot` categories present, else the
/// best prefix (from either end, ≤ `maxCatThreshold`) of the categories sorted by
/// G/(H + catSmooth), scored with λ + `catL2`. Features are scanned in ascending id order and
/// a later feature wins only with a strictly higher gain.
///
/// Immutable: both threads scan their own features' histograms with the same finder.
struct GBDTSplitFinder {
    let p: GBDTParameters
    /// Per feature (from `GBDTBins`): first histogram slot, non-missing bins (the missing bin
    /// is `numBins[f]`), categorical cardinality (0: numeric).
    let slotOffset: [Int]
    let numBins: [Int]
    let cardinality: [Int]
    /// Per feature: first bitmap word of a wide feature, -1 for a dense one (`GBDTHistograms`).
    let bitBase: [Int]
    /// Per feature: +1 the model must rise with it, -1 fall, 0 free (numeric features only).
    let monotone: [Int8]

    init(parameters: GBDTParameters, bins: GBDTBins, bitBase: [Int], monotone: [Int8]? = nil) {
        p = parameters
        slotOffset = bins.slotOffset
        numBins = bins.numBins
        cardinality = bins.cardinality
        self.bitBase = bitBase
        self.monotone = monotone ?? [Int8](repeating: 0, count: bins.numBins.count)
    }

    /// T(G)²/(H+λ): a leaf's share of the gain.
    @inline(__always)
    func leafScore(_ g: Double, _ h: Double, _ lambda: Double) -> Double {
        let t: Double
        if p.alpha > 0 { t = g > p.alpha ? g - p.alpha : (g < -p.alpha ? g + p.alpha : 0) } else { t = g }
        return t * t / (h + lambda)
    }

    /// The leaf value −η·T(G)/(H+λ) (already shrunk).
    func leafValue(_ g: Double, _ h: Double) -> Double {
        let t: Double
        if p.alpha > 0 { t = g > p.alpha ? g - p.alpha : (g < -p.alpha ? g + p.alpha : 0) } else { t = g }
        return -t / (h + p.lambda) * p.learningRate
    }

    /// The leaf value kept within a leaf's monotone bounds.
    func leafValue(_ g: Double, _ h: Double, lower: Double, upper: Double) -> Double {
        min(max(leafValue(g, h), lower), upper)
    }

    /// The best split of `leaf` over `features` (ascending ids), from the leaf's histogram
    /// `hist` (g, h, count per slot) and bitmap `bits` (`GBDTHistograms`); no split (feature
    /// -1) when none passes the constraints.
    ///
    /// Without L1 numeric features take a hot path (`gatherCandidates`, `CreditCore.splitGains`,
    /// `takeBest`: the same candidates, gains and order as the general loop, which `general`
    /// forces; tests compare the two).
    func findSplit(_ leaf: GBDTLeaf, histogram hist: UnsafePointer<Double>, bitmap bits: UnsafePointer<UInt64>,
                   features: [Int], scratch: ScanScratch, general: Bool = false) -> GBDTSplit {
        var best = GBDTSplit()
        guard leaf.depth < p.maxDepth, leaf.count >= 2 * p.minDataInLeaf, leaf.h >= 2 * p.minChildWeight else { return best }
        let parentScore = leafScore(leaf.g, leaf.h, p.lambda)
        let minGain = max(p.minSplitGain, 1e-12)
        let minData = p.minDataInLeaf, minChild = p.minChildWeight, lambda = p.lambda, alpha = p.alpha
        // Below a monotone split the leaf's value is bounded: numeric splits are then scored with
        // clamped values against the clamped parent (the same basis for every such feature).
        let bounded = leaf.lower > -Double.infinity || leaf.upper < Double.infinity
        let clampedParent = leafScore(leaf.g, leaf.h, weight: leafValue(leaf.g, leaf.h, lower: leaf.lower, upper: leaf.upper) / p.learningRate,
                                      lambda: p.lambda)
        for f in features {
            if monotone[f] != 0 || (bounded && cardinality[f] == 0) {
                findMonotoneSplit(leaf, feature: f, histogram: hist, bitmap: bits, parentScore: clampedParent, minGain: minGain, best: &best,
                                  scratch: scratch, general: general)
                continue
            }
            let o = slotOffset[f] * 4
            let nb = numBins[f]
            let mg = hist[o + nb * 4], mh = hist[o + nb * 4 + 1], mc = Int(hist[o + nb * 4 + 2])
            let totG = leaf.g, totH = leaf.h, totC = leaf.count
            if cardinality[f] == 0 {
                if nb < 2 { continue }
                let h = hist + o
                if alpha == 0 && !general {
                    // Hot path: the candidates' left sums in scan order, their gains four at a
                    // time (CreditCore.splitGains), the first best in order.
                    let n = gatherCandidates(h, feature: f, bitmap: bits, missing: mg, mh, Double(mc), into: scratch)
                    let node = SplitGainNode(g: totG, h: totH, count: Double(totC), lambda: lambda, minData: Double(minData),
                                             minChild: minChild, parent: parentScore)
                    splitGains(g: scratch.g, h: scratch.h, c: scratch.c, count: n, node: node, gains: scratch.gains)
                    takeBest(scratch, count: n, feature: f, leaf, hasMissing: mc > 0, minGain: minGain, best: &best)
                    continue
                }
                var lg = 0.0, lh = 0.0, lc = 0
                for b in 0..<(nb - 1) {
                    lg += h[b * 4]; lh += h[b * 4 + 1]; lc += Int(h[b * 4 + 2])
                    if h[b * 4 + 2] == 0 { continue } // same partition as the previous bin
                    // Missing right, then (if any missing) missing left.
                    for m in 0..<(mc > 0 ? 2 : 1) {
                        let missLeft = m == 1
                        let cg = missLeft ? lg + mg : lg, ch = missLeft ? lh + mh : lh, cc = missLeft ? lc + mc : lc
                        let rg = totG - cg, rh = totH - ch, rc = totC - cc
                        if cc < minData || rc < minData || ch < minChild || rh < minChild { continue }
                        let gain = leafScore(cg, ch, lambda) + leafScore(rg, rh, lambda) - parentScore
                        if gain > best.gain && gain > minGain {
                            best = GBDTSplit(gain: gain, feature: f, bin: b,
                                             defaultLeft: mc > 0 ? missLeft : ch > rh, isCategorical: false,
                                             leftG: cg, leftH: ch, leftCount: cc, rightG: rg, rightH: rh, rightCount: rc)
                        }
                    }
                }
            } else {
                // Categories present in this node.
                var cats = [Int]()
                for c in 0..<nb where hist[o + c * 4 + 2] > 0 { cats.append(c) }
                if cats.count + (mc > 0 ? 1 : 0) < 2 { continue }
                let lambdaCat = lambda + p.catL2
                let catParent = leafScore(totG, totH, lambdaCat)
                func consider(_ leftSet: ArraySlice<Int>, _ lg0: Double, _ lh0: Double, _ lc0: Int) {
                    for m in 0..<(mc > 0 ? 2 : 1) {
                        let missLeft = m == 1
                        let cg = missLeft ? lg0 + mg : lg0, ch = missLeft ? lh0 + mh : lh0, cc = missLeft ? lc0 + mc : lc0
                        let rg = totG - cg, rh = totH - ch, rc = totC - cc
                        if cc < minData || rc < minData || ch < minChild || rh < minChild { continue }
                        let gain = leafScore(cg, ch, lambdaCat) + leafScore(rg, rh, lambdaCat) - catParent
                        if gain > best.gain && gain > minGain {
                            best = GBDTSplit(gain: gain, feature: f, bin: 0,
                                             defaultLeft: mc > 0 ? missLeft : ch > rh, isCategorical: true,
                                             leftCategories: Array(leftSet).sorted(),
                                             leftG: cg, leftH: ch, leftCount: cc, rightG: rg, rightH: rh, rightCount: rc)
                        }
                    }
                }
                if cats.count <= p.maxCatToOneHot {
                    for c in cats {
                        consider([c][...], hist[o + c * 4], hist[o + c * 4 + 1], Int(hist[o + c * 4 + 2]))
                    }
                } else {
                    let sorted = cats.sorted { a, b in
                        let ra = hist[o + a * 4] / (hist[o + a * 4 + 1] + p.catSmooth)
                        let rb = hist[o + b * 4] / (hist[o + b * 4 + 1] + p.catSmooth)
                        return ra != rb ? ra < rb : a < b
                    }
                    let maxK = min(p.maxCatThreshold, sorted.count - 1)
                    for order in [sorted, Array(sorted.reversed())] {
                        var lg = 0.0, lh = 0.0, lc = 0
                        for k in 0..<maxK {
                            let c = order[k]
                            lg += hist[o + c * 4]; lh += hist[o + c * 4 + 1]; lc += Int(hist[o + c * 4 + 2])
                            consider(order[0...k], lg, lh, lc)
                        }
                    }
                }
            }
        }
        return best
    }

    /// One thread's scratch for the hot split scans: the candidates' left sums, bins and gains.
    final class ScanScratch {
        let capacity: Int
        let g: UnsafeMutablePointer<Double>, h: UnsafeMutablePointer<Double>, c: UnsafeMutablePointer<Double>
        let gains: UnsafeMutablePointer<Double>
        let bin: UnsafeMutablePointer<Int32>
        /// Room for every candidate of `bins`' widest feature (two per bin: missing right, left).
        init(bins: GBDTBins) {
            capacity = 2 * ((bins.numBins.max() ?? 0) + 1)
            g = .allocate(capacity: capacity); h = .allocate(capacity: capacity); c = .allocate(capacity: capacity)
            gains = .allocate(capacity: capacity); bin = .allocate(capacity: capacity)
        }
        deinit { g.deallocate(); h.deallocate(); c.deallocate(); gains.deallocate(); bin.deallocate() }
    }

    /// The left sums of numeric feature f's split candidates in scan order, into `s`: per
    /// non-empty bin b (bins 0...b left), missing right, then, when the node has missing values
    /// (`mc` > 0: their sums), missing left. Empty bins give no candidate (the same partition as
    /// the bin before); a wide feature visits only its marked bins. Returns the count.
    @inline(__always)
    func gatherCandidates(_ h: UnsafePointer<Double>, feature f: Int, bitmap bits: UnsafePointer<UInt64>,
                          missing mg: Double, _ mh: Double, _ mc: Double, into s: ScanScratch) -> Int {
        let nb = numBins[f], hasMissing = mc > 0
        precondition(2 * nb <= s.capacity, "GBDT: scan scratch too small")
        let sg = s.g, sh = s.h, sc = s.c, sb = s.bin
        var lg = 0.0, lh = 0.0, lc = 0.0, n = 0
        @inline(__always) func visit(_ b: Int) {
            let c = h[b * 4 + 2]
            lg += h[b * 4]; lh += h[b * 4 + 1]; lc += c
            if c == 0 { return }
            sg[n] = lg; sh[n] = lh; sc[n] = lc; sb[n] = Int32(b); n += 1
            if hasMissing { sg[n] = lg + mg; sh[n] = lh + mh; sc[n] = lc + mc; sb[n] = Int32(b); n += 1 }
        }
        if bitBase[f] >= 0 { forEachSetBit(bits + bitBase[f], below: nb - 1, visit) } else { for b in 0..<(nb - 1) { visit(b) } }
        return n
    }

    /// The first of the `n` scored candidates in `s` whose gain beats both `best.gain` and
    /// `minGain` by the most (strictly: a later candidate wins only with a higher gain), into
    /// `best`. Candidates come from `gatherCandidates` (odd ones are missing-left when the node
    /// has missing values).
    @inline(__always)
    func takeBest(_ s: ScanScratch, count n: Int, feature f: Int, _ leaf: GBDTLeaf, hasMissing: Bool, minGain: Double,
                  best: inout GBDTSplit) {
        var bestGain = best.gain, bi = -1
        for i in 0..<n {
            let gain = s.gains[i]
            if gain > bestGain && gain > minGain { bestGain = gain; bi = i }
        }
        guard bi >= 0 else { return }
        let cg = s.g[bi], ch = s.h[bi], cc = Int(s.c[bi])
        let rg = leaf.g - cg, rh = leaf.h - ch, rc = leaf.count - cc
        let missLeft = hasMissing && bi & 1 == 1
        best = GBDTSplit(gain: bestGain, feature: f, bin: Int(s.bin[bi]), defaultLeft: hasMissing ? missLeft : ch > rh, isCategorical: false,
                         leftG: cg, leftH: ch, leftCount: cc, rightG: rg, rightH: rh, rightCount: rc)
    }

    /// The best split over the parts' results: highest gain, ties to the lowest feature id
    /// (features are scanned in ascending id order, and a later feature replaces the best
    /// only with a strictly higher gain, so this equals one scan over all features).
    static func merge(_ a: GBDTSplit, _ b: GBDTSplit) -> GBDTSplit {
        if b.feature < 0 { return a }
        if a.feature < 0 { return b }
        if b.gain > a.gain || (b.gain == a.gain && b.feature < a.feature) { return b }
        return a
    }
}
