import Dispatch
import Foundation

/// Gradient-boosted decision trees with the binary logistic objective (issue 3).
///
/// Histogram-based: every feature is binned once on the training rows (`GBDTBins`); each
/// tree is grown best-first on gradient/hessian histograms with the subtraction trick
/// (the smaller child is built, the larger is parent − smaller). Splits:
/// - numeric: `x < threshold`, missing values go to a learned default side (both sides are
///   tried; when the node has no missing values the default is the child with more hessian);
/// - categorical: LightGBM-style. With ≤ `maxCatToOneHot` categories present, one-vs-rest;
///   otherwise categories are sorted by G/(H + catSmooth) and the best prefix (from either
///   end, ≤ `maxCatThreshold` categories) becomes the left set, stored as a bitset. Missing
///   values try both sides; unseen categories (code ≥ cardinality) follow the missing/default
///   side; a category present in training but absent from the node goes right.
/// Gain = T(G_L)²/(H_L+λ) + T(G_R)²/(H_R+λ) − T(G)²/(H+λ) with T the L1 soft threshold;
/// leaf value = −η·T(G)/(H+λ). Rows (Bernoulli) and features are subsampled per tree with a
/// seeded generator; early stopping watches the validation log-loss (weighted when the
/// validation set has weights) and keeps the best round. The base score is the log-odds of
/// the weighted training prior.
///
/// Deterministic: the only randomness is `GBDTRandom(seed)`; histograms may be built by
/// several threads, each owning whole features and adding rows in a fixed order, so the
/// model is bit-identical for any `threads`.
public struct GBDTLearner: Learner {
    public typealias Model = GBDTModel
    public static let algorithm = "gbdt"
    public var parameters: GBDTParameters
    public var encoding: InputEncoding { .native }

    public init(parameters: GBDTParameters = GBDTParameters()) {
        self.parameters = parameters
    }

    public func fit(train: LabeledMatrix, validation: LabeledMatrix?, seed: UInt64,
                    progress: @escaping @Sendable (TrainingProgress) -> Void) throws -> GBDTModel {
        try parameters.validate()
        guard train.rows > 0 else { throw GBDTError.emptyTrainingSet }
        if let v = validation, v.x.cols != train.x.cols {
            throw GBDTError.validationWidthMismatch(expected: train.x.cols, got: v.x.cols)
        }
        try GBDTLearner.checkLabels(train)
        if let v = validation { try GBDTLearner.checkLabels(v) }
        let trainer = try GBDTTrainer(train: train, validation: validation, parameters: parameters, seed: seed)
        return trainer.run(progress: progress)
    }

    static func checkLabels(_ m: LabeledMatrix) throws {
        for (i, y) in m.y.enumerated() where !(y == 0 || y == 1) { throw GBDTError.invalidLabel(row: i, value: y) }
        if let w = m.weights {
            for (i, v) in w.enumerated() where !(v.isFinite && v >= 0) { throw GBDTError.invalidWeight(row: i, value: v) }
        }
    }
}

/// SplitMix64-seeded xoshiro256** generator; same seed → same sequence on every platform.
struct GBDTRandom {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var z = seed
        func next() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s = (next(), next(), next(), next())
    }

    mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform in [0, 1).
    mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in 0..<n.
    mutating func next(below n: Int) -> Int { Int(next() % UInt64(n)) }

    /// `k` distinct indices of 0..<n in ascending order (partial Fisher–Yates).
    mutating func sample(_ k: Int, of n: Int) -> [Int] {
        var a = Array(0..<n)
        for i in 0..<min(k, n) {
            let j = i + next(below: n - i)
            a.swapAt(i, j)
        }
        return a[0..<min(k, n)].sorted()
    }
}

/// Wraps a value that is shared across `concurrentPerform` workers which write disjoint parts.
struct GBDTUnsafeSendable<T>: @unchecked Sendable {
    let value: T
}

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

/// A leaf of the tree being grown.
struct GBDTLeaf {
    var node: Int
    var start: Int
    var count: Int
    var g: Double
    var h: Double
    var depth: Int
    /// Index in the histogram pool, -1 when released.
    var hist: Int
    var split: GBDTSplit
}

/// One training run (single use).
final class GBDTTrainer {
    let p: GBDTParameters
    let train: LabeledMatrix
    let validation: LabeledMatrix?
    let bins: GBDTBins
    var rng: GBDTRandom
    let n: Int
    let nf: Int
    let weights: [Double]
    let y: [Double]
    var score: [Double]
    var validScore: [Double]
    var grad: [Double]
    var hess: [Double]
    let baseScore: Float
    // Model arrays under construction.
    var mFeature: [Int32] = [], mThreshold: [Float] = [], mDefaultLeft: [UInt8] = []
    var mLeft: [Int32] = [], mRight: [Int32] = [], mValue: [Float] = [], mCover: [Float] = []
    var mCatOffset: [Int32] = [], mCatBits: [UInt32] = []
    var mRoots: [Int32] = [], mDepths: [Int32] = []
    // Growth state.
    var rowIndex: [Int32]
    var rowTemp: [Int32]
    /// Whether a training row is in the current tree's bag (its score is updated from the
    /// leaf it was partitioned into; out-of-bag rows walk the tree).
    var inBag: [Bool]
    var histPool: [[Double]] = []
    var freeHists: [Int] = []

    init(train: LabeledMatrix, validation: LabeledMatrix?, parameters: GBDTParameters, seed: UInt64) throws {
        p = parameters
        self.train = train
        self.validation = validation
        bins = try GBDTBins(train.x, maxBins: parameters.maxBins)
        rng = GBDTRandom(seed: seed)
        n = train.rows
        nf = train.x.cols
        weights = train.weights.map { $0.map(Double.init) } ?? [Double](repeating: 1, count: n)
        y = train.y.map(Double.init)
        var pw = 0.0, tw = 0.0
        for i in 0..<n { pw += weights[i] * y[i]; tw += weights[i] }
        guard tw > 0, pw > 0, pw < tw else { throw GBDTError.degenerateLabels(positiveWeight: pw, totalWeight: tw) }
        baseScore = Float(log(pw / (tw - pw)))
        score = [Double](repeating: Double(baseScore), count: n)
        validScore = [Double](repeating: Double(baseScore), count: validation?.rows ?? 0)
        grad = [Double](repeating: 0, count: n)
        hess = [Double](repeating: 0, count: n)
        rowIndex = [Int32](repeating: 0, count: n)
        rowTemp = [Int32](repeating: 0, count: n)
        inBag = [Bool](repeating: false, count: n)
        if let v = validation {
            // Validate categorical codes of the validation rows like the training rows.
            for (j, col) in v.x.columns.enumerated() {
                guard case let .categorical(card) = col.kind else { continue }
                for r in 0..<v.rows {
                    let x = v.x.values[r * nf + j]
                    if x.isNaN { continue }
                    guard x >= 0, x <= Float(card), Float(Int(x)) == x else {
                        throw GBDTError.invalidCategory(row: r, column: col.name, value: x, cardinality: card)
                    }
                }
            }
        }
    }

    func run(progress: @Sendable (TrainingProgress) -> Void) -> GBDTModel {
        var bestLoss = Double.infinity
        var bestRound = -1
        var bestNodeCount = 0, bestCatCount = 0
        for round in 0..<p.maxRounds {
            computeGradients()
            growTree()
            let t = mRoots.count - 1
            applyTree(t, to: train.x, scores: &score, skip: inBag)
            if let v = validation { applyTree(t, to: v.x, scores: &validScore) }
            let trainLoss = GBDTTrainer.logLoss(score, y, weights)
            var validLoss: Double? = nil
            if let v = validation {
                let vl = GBDTTrainer.logLoss(validScore, v.y.map(Double.init), v.weights?.map(Double.init))
                validLoss = vl
                if vl < bestLoss {
                    bestLoss = vl
                    bestRound = round
                    bestNodeCount = mFeature.count
                    bestCatCount = mCatBits.count
                }
            }
            progress(TrainingProgress(iteration: round + 1, trainLoss: trainLoss, validationLoss: validLoss))
            if validation != nil, p.earlyStoppingRounds > 0, round - bestRound >= p.earlyStoppingRounds { break }
        }
        if validation != nil, bestRound >= 0, bestRound + 1 < mRoots.count {
            let keep = bestRound + 1
            mRoots.removeLast(mRoots.count - keep)
            mDepths.removeLast(mDepths.count - keep)
            for a in [\GBDTTrainer.mFeature, \.mLeft, \.mRight, \.mCatOffset] as [ReferenceWritableKeyPath<GBDTTrainer, [Int32]>] {
                self[keyPath: a].removeLast(self[keyPath: a].count - bestNodeCount)
            }
            for a in [\GBDTTrainer.mThreshold, \.mValue, \.mCover] as [ReferenceWritableKeyPath<GBDTTrainer, [Float]>] {
                self[keyPath: a].removeLast(self[keyPath: a].count - bestNodeCount)
            }
            mDefaultLeft.removeLast(mDefaultLeft.count - bestNodeCount)
            mCatBits.removeLast(mCatBits.count - bestCatCount)
            progress(TrainingProgress(iteration: keep, validationLoss: bestLoss,
                                      message: "early stopping: kept \(keep) trees (best validation log-loss \(bestLoss))"))
        }
        return GBDTModel(inputWidth: nf, featureCardinality: bins.cardinality.map { Int32($0) }, baseScore: baseScore,
                         treeRoots: mRoots, treeDepths: mDepths, feature: mFeature, threshold: mThreshold,
                         defaultLeft: mDefaultLeft, left: mLeft, right: mRight, value: mValue, cover: mCover,
                         catOffset: mCatOffset, catBits: mCatBits)
    }

    static func logLoss(_ s: [Double], _ y: [Double], _ w: [Double]?) -> Double {
        var sum = 0.0, tw = 0.0
        for i in 0..<s.count {
            let wi = w?[i] ?? 1
            // log(1 + e^s) - y s, stable
            let z = s[i]
            let softplus = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))
            sum += wi * (softplus - y[i] * z)
            tw += wi
        }
        return tw > 0 ? sum / tw : 0
    }

    func computeGradients() {
        let n = self.n
        score.withUnsafeBufferPointer { sp in
        y.withUnsafeBufferPointer { yp in
        weights.withUnsafeBufferPointer { wp in
        grad.withUnsafeMutableBufferPointer { gp in
        hess.withUnsafeMutableBufferPointer { hp in
            for i in 0..<n {
                let pr = 1 / (1 + exp(-sp[i]))
                gp[i] = (pr - yp[i]) * wp[i]
                hp[i] = max(pr * (1 - pr), 1e-16) * wp[i]
            }
        }}}}}
    }

    /// Adds tree `t` (already in the model arrays) to `scores` for every row of `x`.
    func applyTree(_ t: Int, to x: FeatureMatrix, scores: inout [Double], skip: [Bool]? = nil) {
        let root = Int(mRoots[t])
        let feat = mFeature, thr = mThreshold, dl = mDefaultLeft, cof = mCatOffset, bits = mCatBits
        let lft = mLeft, rgt = mRight, val = mValue, card = bins.cardinality, nf = self.nf
        x.values.withUnsafeBufferPointer { xv in
        scores.withUnsafeMutableBufferPointer { sc in
        feat.withUnsafeBufferPointer { feat in
        thr.withUnsafeBufferPointer { thr in
        lft.withUnsafeBufferPointer { lft in
        rgt.withUnsafeBufferPointer { rgt in
            for r in 0..<x.rows {
                if let skip, skip[r] { continue }
                var node = root
                while feat[node] >= 0 {
                    let f = Int(feat[node])
                    let off = cof[node]
                    let v = xv[r * nf + f]
                    let goLeft: Bool
                    if off < 0 {
                        goLeft = v.isNaN ? dl[node] != 0 : v < thr[node]
                    } else {
                        goLeft = GBDTModel.goesLeft(v, threshold: thr[node], defaultLeft: dl[node],
                                                    catOffset: off, cardinality: card[f], catBits: bits)
                    }
                    node = Int(goLeft ? lft[node] : rgt[node])
                }
                sc[r] += Double(val[node])
            }
        }}}}}}
    }

    // MARK: - Histograms

    func acquireHist() -> Int {
        if let i = freeHists.popLast() { return i }
        histPool.append([Double](repeating: 0, count: bins.totalSlots * 3))
        return histPool.count - 1
    }

    func releaseHist(_ i: Int) { if i >= 0 { freeHists.append(i) } }

    /// Builds the (g, h, count) histogram of rows `rowIndex[start..<start+count]` for `features`.
    func buildHist(_ slot: Int, start: Int, count: Int, features: [Int]) {
        let nf = self.nf
        let threads = min(p.threads, features.count)
        bins.bins.withUnsafeBufferPointer { binp in
        grad.withUnsafeBufferPointer { gp in
        hess.withUnsafeBufferPointer { hp in
        rowIndex.withUnsafeBufferPointer { rp in
        bins.slotOffset.withUnsafeBufferPointer { offp in
        bins.numBins.withUnsafeBufferPointer { nbp in
        histPool[slot].withUnsafeMutableBufferPointer { histp in
            let work = GBDTUnsafeSendable(value: (binp, gp, hp, rp, offp, histp, nbp))
            let body: @Sendable (Int, Int) -> Void = { chunk, chunks in
                let (binp, gp, hp, rp, offp, histp, nbp) = work.value
                let lo = features.count * chunk / chunks, hi = features.count * (chunk + 1) / chunks
                if lo >= hi { return }
                let fs = Array(features[lo..<hi])
                for f in fs {
                    let o = offp[f] * 3
                    let slots = (nbp[f] + 1) * 3
                    for k in 0..<slots { histp[o + k] = 0 }
                }
                for i in start..<(start + count) {
                    let r = Int(rp[i])
                    let g = gp[r], h = hp[r]
                    let rowBase = r * nf
                    for f in fs {
                        let s = (offp[f] + Int(binp[rowBase + f])) * 3
                        histp[s] += g
                        histp[s + 1] += h
                        histp[s + 2] += 1
                    }
                }
            }
            if threads > 1 && count >= 4096 {
                DispatchQueue.concurrentPerform(iterations: threads) { c in body(c, threads) }
            } else {
                body(0, 1)
            }
        }}}}}}}
    }

    /// hist[large] = hist[parent] - hist[small], in place in the parent's buffer.
    func subtractHist(parent: Int, small: Int, features: [Int]) {
        let offs = bins.slotOffset
        histPool[small].withUnsafeBufferPointer { sp in
            histPool[parent].withUnsafeMutableBufferPointer { pp in
                for f in features {
                    let o = offs[f] * 3
                    for k in 0..<((bins.numBins[f] + 1) * 3) { pp[o + k] -= sp[o + k] }
                }
            }
        }
    }

    // MARK: - Split finding

    @inline(__always)
    func leafScore(_ g: Double, _ h: Double, _ lambda: Double) -> Double {
        let t: Double
        if p.alpha > 0 { t = g > p.alpha ? g - p.alpha : (g < -p.alpha ? g + p.alpha : 0) } else { t = g }
        return t * t / (h + lambda)
    }

    func leafValue(_ g: Double, _ h: Double) -> Double {
        let t: Double
        if p.alpha > 0 { t = g > p.alpha ? g - p.alpha : (g < -p.alpha ? g + p.alpha : 0) } else { t = g }
        return -t / (h + p.lambda) * p.learningRate
    }

    func findSplit(_ leaf: GBDTLeaf, features: [Int]) -> GBDTSplit {
        var best = GBDTSplit()
        guard leaf.depth < p.maxDepth, leaf.count >= 2 * p.minDataInLeaf, leaf.h >= 2 * p.minChildWeight else { return best }
        let parentScore = leafScore(leaf.g, leaf.h, p.lambda)
        let histArray = histPool[leaf.hist]
        let minGain = max(p.minSplitGain, 1e-12)
        return histArray.withUnsafeBufferPointer { hist in
        for f in features {
            let o = bins.slotOffset[f] * 3
            let nb = bins.numBins[f]
            let mg = hist[o + nb * 3], mh = hist[o + nb * 3 + 1], mc = Int(hist[o + nb * 3 + 2])
            let totG = leaf.g, totH = leaf.h, totC = leaf.count
            if bins.cardinality[f] == 0 {
                var lg = 0.0, lh = 0.0, lc = 0
                if nb < 2 { continue }
                for b in 0..<(nb - 1) {
                    lg += hist[o + b * 3]; lh += hist[o + b * 3 + 1]; lc += Int(hist[o + b * 3 + 2])
                    if hist[o + b * 3 + 2] == 0 { continue } // same partition as the previous bin
                    // Missing right, then (if any missing) missing left.
                    for m in 0..<(mc > 0 ? 2 : 1) {
                        let missLeft = m == 1
                        let cg = missLeft ? lg + mg : lg, ch = missLeft ? lh + mh : lh, cc = missLeft ? lc + mc : lc
                        let rg = totG - cg, rh = totH - ch, rc = totC - cc
                        if cc < p.minDataInLeaf || rc < p.minDataInLeaf || ch < p.minChildWeight || rh < p.minChildWeight { continue }
                        let gain = leafScore(cg, ch, p.lambda) + leafScore(rg, rh, p.lambda) - parentScore
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
                for c in 0..<nb where hist[o + c * 3 + 2] > 0 { cats.append(c) }
                if cats.count + (mc > 0 ? 1 : 0) < 2 { continue }
                let lambdaCat = p.lambda + p.catL2
                let catParent = leafScore(totG, totH, lambdaCat)
                func consider(_ leftSet: ArraySlice<Int>, _ lg0: Double, _ lh0: Double, _ lc0: Int) {
                    for m in 0..<(mc > 0 ? 2 : 1) {
                        let missLeft = m == 1
                        let cg = missLeft ? lg0 + mg : lg0, ch = missLeft ? lh0 + mh : lh0, cc = missLeft ? lc0 + mc : lc0
                        let rg = totG - cg, rh = totH - ch, rc = totC - cc
                        if cc < p.minDataInLeaf || rc < p.minDataInLeaf || ch < p.minChildWeight || rh < p.minChildWeight { continue }
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
                        consider([c][...], hist[o + c * 3], hist[o + c * 3 + 1], Int(hist[o + c * 3 + 2]))
                    }
                } else {
                    let sorted = cats.sorted { a, b in
                        let ra = hist[o + a * 3] / (hist[o + a * 3 + 1] + p.catSmooth)
                        let rb = hist[o + b * 3] / (hist[o + b * 3 + 1] + p.catSmooth)
                        return ra != rb ? ra < rb : a < b
                    }
                    let maxK = min(p.maxCatThreshold, sorted.count - 1)
                    for order in [sorted, Array(sorted.reversed())] {
                        var lg = 0.0, lh = 0.0, lc = 0
                        for k in 0..<maxK {
                            let c = order[k]
                            lg += hist[o + c * 3]; lh += hist[o + c * 3 + 1]; lc += Int(hist[o + c * 3 + 2])
                            consider(order[0...k], lg, lh, lc)
                        }
                    }
                }
            }
        }
        return best
        }
    }

    // MARK: - Tree growth

    func growTree() {
        // Row bag.
        var bagCount = 0
        for i in 0..<n { inBag[i] = false }
        defer { for i in 0..<bagCount { inBag[Int(rowIndex[i])] = true } }
        if p.subsample < 1 {
            for i in 0..<n where rng.nextDouble() < p.subsample && weights[i] > 0 {
                rowIndex[bagCount] = Int32(i); bagCount += 1
            }
            if bagCount == 0 { rowIndex[0] = 0; bagCount = 1 }
        } else {
            for i in 0..<n where weights[i] > 0 { rowIndex[bagCount] = Int32(i); bagCount += 1 }
        }
        // Feature subset for this tree.
        var treeFeatures = Array(0..<nf)
        if p.colsampleByTree < 1 {
            let k = max(1, Int((p.colsampleByTree * Double(nf)).rounded()))
            treeFeatures = rng.sample(k, of: nf)
        }
        // Local tree arrays (node 0 = root).
        var tFeature: [Int32] = [-1], tThreshold: [Float] = [0], tDefaultLeft: [UInt8] = [0]
        var tLeft: [Int32] = [0], tRight: [Int32] = [0], tValue: [Float] = [0], tCover: [Float] = [0]
        var tCatOffset: [Int32] = [-1], tCatBits: [UInt32] = [], tDepth: [Int] = [0]

        var g = 0.0, h = 0.0
        for i in 0..<bagCount { let r = Int(rowIndex[i]); g += grad[r]; h += hess[r] }
        let rootHist = acquireHist()
        buildHist(rootHist, start: 0, count: bagCount, features: treeFeatures)
        var root = GBDTLeaf(node: 0, start: 0, count: bagCount, g: g, h: h, depth: 0, hist: rootHist, split: GBDTSplit())
        root.split = findSplit(root, features: nodeFeatures(treeFeatures))
        var leaves = [root]
        while leaves.count < p.maxLeaves {
            // Best leaf to split: highest gain, ties to the lowest node id.
            var bi = -1
            for (i, l) in leaves.enumerated() where l.split.feature >= 0 {
                if bi < 0 || l.split.gain > leaves[bi].split.gain || (l.split.gain == leaves[bi].split.gain && l.node < leaves[bi].node) { bi = i }
            }
            if bi < 0 { break }
            let leaf = leaves[bi]
            let s = leaf.split
            // Turn the leaf into an internal node.
            let nodeL = tFeature.count, nodeR = nodeL + 1
            tFeature[leaf.node] = Int32(s.feature)
            tDefaultLeft[leaf.node] = s.defaultLeft ? 1 : 0
            tLeft[leaf.node] = Int32(nodeL)
            tRight[leaf.node] = Int32(nodeR)
            var leftBits = [UInt32]()
            if s.isCategorical {
                let card = bins.cardinality[s.feature]
                leftBits = [UInt32](repeating: 0, count: (card + 31) / 32)
                for c in s.leftCategories { leftBits[c >> 5] |= 1 << UInt32(c & 31) }
                tCatOffset[leaf.node] = Int32(tCatBits.count)
                tCatBits.append(contentsOf: leftBits)
            } else {
                tThreshold[leaf.node] = bins.cuts[s.feature][s.bin]
            }
            for _ in 0..<2 {
                tFeature.append(-1); tThreshold.append(0); tDefaultLeft.append(0)
                tLeft.append(0); tRight.append(0); tValue.append(0); tCover.append(0)
                tCatOffset.append(-1); tDepth.append(leaf.depth + 1)
            }
            // Partition rows (stable): left rows first.
            let leftCount = partition(start: leaf.start, count: leaf.count, split: s, leftBits: leftBits)
            precondition(leftCount == s.leftCount, "GBDT: partition disagrees with histogram")
            var lLeaf = GBDTLeaf(node: nodeL, start: leaf.start, count: leftCount, g: s.leftG, h: s.leftH,
                                 depth: leaf.depth + 1, hist: -1, split: GBDTSplit())
            var rLeaf = GBDTLeaf(node: nodeR, start: leaf.start + leftCount, count: leaf.count - leftCount, g: s.rightG, h: s.rightH,
                                 depth: leaf.depth + 1, hist: -1, split: GBDTSplit())
            let canSplitChildren = leaf.depth + 1 < p.maxDepth && leaves.count + 1 < p.maxLeaves
            if canSplitChildren {
                let small = acquireHist()
                let smallIsLeft = lLeaf.count <= rLeaf.count
                buildHist(small, start: smallIsLeft ? lLeaf.start : rLeaf.start,
                          count: smallIsLeft ? lLeaf.count : rLeaf.count, features: treeFeatures)
                subtractHist(parent: leaf.hist, small: small, features: treeFeatures)
                if smallIsLeft { lLeaf.hist = small; rLeaf.hist = leaf.hist } else { rLeaf.hist = small; lLeaf.hist = leaf.hist }
                lLeaf.split = findSplit(lLeaf, features: nodeFeatures(treeFeatures))
                rLeaf.split = findSplit(rLeaf, features: nodeFeatures(treeFeatures))
            } else {
                releaseHist(leaf.hist)
            }
            tCover[leaf.node] = Float(leaf.h)
            leaves[bi] = lLeaf
            leaves.append(rLeaf)
        }
        // Finalize leaves.
        var depth = 0
        for l in leaves {
            releaseHist(l.hist)
            tValue[l.node] = Float(leafValue(l.g, l.h))
            tCover[l.node] = Float(l.h)
            depth = max(depth, tDepth[l.node])
            // In-bag rows of this leaf: add the (Float) leaf value, exactly what a walk gives.
            let v = Double(tValue[l.node])
            for i in l.start..<(l.start + l.count) { score[Int(rowIndex[i])] += v }
        }
        // Append to the model with global node ids.
        let base = Int32(mFeature.count)
        let catBase = Int32(mCatBits.count)
        mRoots.append(base)
        mDepths.append(Int32(depth))
        for i in 0..<tFeature.count {
            let isLeaf = tFeature[i] < 0
            mFeature.append(tFeature[i])
            mThreshold.append(tThreshold[i])
            mDefaultLeft.append(tDefaultLeft[i])
            mLeft.append(isLeaf ? base + Int32(i) : base + tLeft[i])
            mRight.append(isLeaf ? base + Int32(i) : base + tRight[i])
            mValue.append(isLeaf ? tValue[i] : 0)
            mCover.append(tCover[i])
            mCatOffset.append(tCatOffset[i] < 0 ? -1 : catBase + tCatOffset[i])
        }
        mCatBits.append(contentsOf: tCatBits)
    }

    func nodeFeatures(_ treeFeatures: [Int]) -> [Int] {
        guard p.colsampleByNode < 1 else { return treeFeatures }
        let k = max(1, Int((p.colsampleByNode * Double(treeFeatures.count)).rounded()))
        return rng.sample(k, of: treeFeatures.count).map { treeFeatures[$0] }
    }

    /// Stable in-place partition of `rowIndex[start..<start+count]`; returns the left count.
    func partition(start: Int, count: Int, split s: GBDTSplit, leftBits: [UInt32]) -> Int {
        let f = s.feature
        let missing = UInt16(bins.numBins[f])
        let nf = self.nf
        var nl = 0, nr = 0
        bins.bins.withUnsafeBufferPointer { bp in
        rowIndex.withUnsafeMutableBufferPointer { ri in
        rowTemp.withUnsafeMutableBufferPointer { rt in
            for i in start..<(start + count) {
                let r = ri[i]
                let b = bp[Int(r) * nf + f]
                let goLeft: Bool
                if b == missing {
                    goLeft = s.defaultLeft
                } else if s.isCategorical {
                    goLeft = (leftBits[Int(b) >> 5] >> UInt32(b & 31)) & 1 != 0
                } else {
                    goLeft = Int(b) <= s.bin
                }
                if goLeft { ri[start + nl] = r; nl += 1 } else { rt[nr] = r; nr += 1 }
            }
            for k in 0..<nr { ri[start + nl + k] = rt[k] }
        }}}
        return nl
    }
}
