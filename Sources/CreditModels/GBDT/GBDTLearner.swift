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
///
/// Memory: the training bins (`GBDTBins`, row-major, one byte per cell when bins ≤ 256), the
/// interleaved gradient/hessian pairs `gh`, the row order `rowIndex` (a tree's bag, partitioned
/// in place leaf by leaf; no per-node allocation), the out-of-bag rows `oobIndex`, a pool of
/// histogram buffers (g, h, count per slot; reused across nodes and trees) and the validation
/// rows binned once with the training cuts. Per round: one tree is grown on the bag; bagged
/// rows get the leaf value of the leaf they were partitioned into, out-of-bag and validation
/// rows walk the new tree on their bins (the same route as the float walk of the finished
/// model, see `GBDTBins`), so scores are cached and only the new tree is ever evaluated; then
/// one pass computes the training log-loss and the next round's gradients.
final class GBDTTrainer {
    let p: GBDTParameters
    let bins: GBDTBins
    var rng: GBDTRandom
    let n: Int
    let nf: Int
    let weights: [Double]
    let y: [Double]
    let totalWeight: Double
    var score: [Double]
    /// Gradient and hessian of training row r at 2r and 2r+1.
    var gh: [Double]
    let baseScore: Float
    // Validation rows (binned once with the training cuts) and their cached scores.
    let nv: Int
    let validBins8: [UInt8]
    let validBins16: [UInt16]
    let validY: [Double]
    let validW: [Double]?
    var validScore: [Double]
    // Model arrays under construction.
    var mFeature: [Int32] = [], mThreshold: [Float] = [], mDefaultLeft: [UInt8] = []
    var mLeft: [Int32] = [], mRight: [Int32] = [], mValue: [Float] = [], mCover: [Float] = []
    var mCatOffset: [Int32] = [], mCatBits: [UInt32] = []
    var mRoots: [Int32] = [], mDepths: [Int32] = []
    // The tree being grown (tree-local node ids, node 0 = root); reused across rounds.
    var tFeature: [Int32] = [], tBin: [Int32] = [], tThreshold: [Float] = [], tDefaultLeft: [UInt8] = []
    var tLeft: [Int32] = [], tRight: [Int32] = [], tValue: [Float] = [], tCover: [Float] = []
    var tCatOffset: [Int32] = [], tCatBits: [UInt32] = [], tDepth: [Int] = []
    // Growth state.
    /// Feature-major copy of the training bins (`binsByFeature8/16[f * n + r]`) for `partition`:
    /// a node's rows stay in ascending order, so reading one feature's column is a forward scan.
    let binsByFeature8: [UInt8]
    let binsByFeature16: [UInt16]
    var rowIndex: [Int32]
    var rowTemp: [Int32]
    var oobIndex: [Int32]
    var oobCount = 0
    /// Histogram buffers of `bins.totalSlots * 3` Doubles (g, h, count per slot).
    var histPool: [UnsafeMutablePointer<Double>] = []
    var freeHists: [Int] = []
    /// The current tree's features and their first histogram Double (`slotOffset * 3`).
    var treeFeatures: [Int] = []
    var treeFeatureOffsets: [Int] = []

    init(train: LabeledMatrix, validation: LabeledMatrix?, parameters: GBDTParameters, seed: UInt64) throws {
        p = parameters
        bins = try GBDTBins(train.x, maxBins: parameters.maxBins)
        rng = GBDTRandom(seed: seed)
        n = train.rows
        nf = train.x.cols
        weights = train.weights.map { $0.map(Double.init) } ?? [Double](repeating: 1, count: n)
        y = train.y.map(Double.init)
        var pw = 0.0, tw = 0.0
        for i in 0..<n { pw += weights[i] * y[i]; tw += weights[i] }
        guard tw > 0, pw > 0, pw < tw else { throw GBDTError.degenerateLabels(positiveWeight: pw, totalWeight: tw) }
        totalWeight = tw
        baseScore = Float(log(pw / (tw - pw)))
        score = [Double](repeating: Double(baseScore), count: n)
        gh = [Double](repeating: 0, count: 2 * n)
        rowIndex = [Int32](repeating: 0, count: n)
        rowTemp = [Int32](repeating: 0, count: n)
        oobIndex = [Int32](repeating: 0, count: n)
        binsByFeature8 = bins.wide ? [] : GBDTTrainer.transpose(bins.bins8, rows: n, features: nf)
        binsByFeature16 = bins.wide ? GBDTTrainer.transpose(bins.bins16, rows: n, features: nf) : []
        nv = validation?.rows ?? 0
        validScore = [Double](repeating: Double(baseScore), count: nv)
        validY = validation?.y.map(Double.init) ?? []
        validW = validation?.weights?.map(Double.init)
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
            validBins8 = bins.wide ? [] : bins.binRows(v.x)
            validBins16 = bins.wide ? bins.binRows(v.x) : []
        } else {
            validBins8 = []
            validBins16 = []
        }
    }

    static func transpose<B: FixedWidthInteger>(_ a: [B], rows: Int, features: Int) -> [B] {
        var out = [B](repeating: 0, count: a.count)
        for r in 0..<rows { for f in 0..<features { out[f * rows + r] = a[r * features + f] } }
        return out
    }

    deinit {
        for h in histPool { h.deallocate() }
    }

    func run(progress: @Sendable (TrainingProgress) -> Void) -> GBDTModel {
        var bestLoss = Double.infinity
        var bestRound = -1
        var bestNodeCount = 0, bestCatCount = 0
        _ = lossAndGradients()
        for round in 0..<p.maxRounds {
            growTree()
            if bins.wide { scoreNewTree(bins.bins16, validBins16) } else { scoreNewTree(bins.bins8, validBins8) }
            appendTree()
            var validLoss: Double? = nil
            if nv > 0 {
                let vl = GBDTTrainer.logLoss(validScore, validY, validW)
                validLoss = vl
                if vl < bestLoss {
                    bestLoss = vl
                    bestRound = round
                    bestNodeCount = mFeature.count
                    bestCatCount = mCatBits.count
                }
            }
            let trainLoss = lossAndGradients()
            progress(TrainingProgress(iteration: round + 1, trainLoss: trainLoss, validationLoss: validLoss))
            if nv > 0, p.earlyStoppingRounds > 0, round - bestRound >= p.earlyStoppingRounds { break }
        }
        if nv > 0, bestRound >= 0, bestRound + 1 < mRoots.count {
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

    /// Mean (weighted) log-loss of logits `s`.
    static func logLoss(_ s: [Double], _ y: [Double], _ w: [Double]?) -> Double {
        var sum = 0.0, tw = 0.0
        s.withUnsafeBufferPointer { s in
        y.withUnsafeBufferPointer { y in
            for i in 0..<s.count {
                let wi = w?[i] ?? 1
                // log(1 + e^s) - y s, stable
                let z = s[i]
                let softplus = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))
                sum += wi * (softplus - y[i] * z)
                tw += wi
            }
        }}
        return tw > 0 ? sum / tw : 0
    }

    /// One pass over the training scores: returns the weighted mean log-loss and stores the
    /// gradients/hessians of the next round in `gh`. The rows are cut into two fixed halves
    /// (run on two threads when `threads > 1`) whose loss sums are added in order, so the
    /// result does not depend on the thread count.
    func lossAndGradients() -> Double {
        let n = self.n
        var partial = (0.0, 0.0)
        score.withUnsafeBufferPointer { sp in
        y.withUnsafeBufferPointer { yp in
        weights.withUnsafeBufferPointer { wp in
        gh.withUnsafeMutableBufferPointer { ghp in
        withUnsafeMutablePointer(to: &partial) { pp in
            let work = GBDTUnsafeSendable(value: (sp, yp, wp, ghp, pp))
            let body: @Sendable (Int) -> Void = { c in
                let (sp, yp, wp, ghp, pp) = work.value
                let lo = c == 0 ? 0 : n / 2, hi = c == 0 ? n / 2 : n
                var sum = 0.0
                for i in lo..<hi {
                    let z = sp[i]
                    let e = exp(-z)
                    let pr = 1 / (1 + e)
                    let w = wp[i]
                    ghp[2 * i] = (pr - yp[i]) * w
                    ghp[2 * i + 1] = max(pr * (1 - pr), 1e-16) * w
                    // softplus(z) = z + log(1 + e^-z); for very negative z, e^z directly.
                    let softplus = z > -30 ? z + log(1 + e) : exp(z)
                    sum += w * (softplus - yp[i] * z)
                }
                if c == 0 { pp.pointee.0 = sum } else { pp.pointee.1 = sum }
            }
            if p.threads > 1 && n >= 8192 {
                DispatchQueue.concurrentPerform(iterations: 2, execute: body)
            } else {
                body(0); body(1)
            }
        }}}}}
        return (partial.0 + partial.1) / totalWeight
    }

    // MARK: - Scoring the new tree

    /// Adds the new tree (in the `t*` arrays) to the cached scores: bagged rows were added
    /// in `growTree`; out-of-bag training rows and validation rows walk the tree on bins.
    func scoreNewTree<B: FixedWidthInteger & UnsignedInteger>(_ trainBins: [B], _ validBins: [B]) {
        let nf = self.nf, nv = self.nv, oobCount = self.oobCount
        tFeature.withUnsafeBufferPointer { tf in
        tBin.withUnsafeBufferPointer { tb in
        tDefaultLeft.withUnsafeBufferPointer { dl in
        tLeft.withUnsafeBufferPointer { tl in
        tRight.withUnsafeBufferPointer { tr in
        tCatOffset.withUnsafeBufferPointer { co in
        tCatBits.withUnsafeBufferPointer { cb in
        tValue.withUnsafeBufferPointer { tv in
        bins.numBins.withUnsafeBufferPointer { nb in
        trainBins.withUnsafeBufferPointer { trainp in
        oobIndex.withUnsafeBufferPointer { oob in
        score.withUnsafeMutableBufferPointer { sc in
        validBins.withUnsafeBufferPointer { validp in
        validScore.withUnsafeMutableBufferPointer { vsc in
            let work = GBDTUnsafeSendable(value: (tf, tb, dl, tl, tr, co, cb, tv, nb, trainp, oob, sc, validp, vsc))
            // Task 0: out-of-bag training rows; task 1: validation rows (disjoint outputs).
            let body: @Sendable (Int) -> Void = { task in
                let (tf, tb, dl, tl, tr, co, cb, tv, nb, trainp, oob, sc, validp, vsc) = work.value
                @inline(__always) func leaf(_ row: UnsafePointer<B>) -> Int {
                    var node = 0
                    while tf[node] >= 0 {
                        let f = Int(tf[node])
                        let b = Int(row[f])
                        let goLeft: Bool
                        if b == nb[f] {
                            goLeft = dl[node] != 0
                        } else if co[node] >= 0 {
                            goLeft = (cb[Int(co[node]) + (b >> 5)] >> UInt32(b & 31)) & 1 != 0
                        } else {
                            goLeft = b <= Int(tb[node])
                        }
                        node = Int(goLeft ? tl[node] : tr[node])
                    }
                    return node
                }
                if task == 0 {
                    guard oobCount > 0, let base = trainp.baseAddress else { return }
                    for i in 0..<oobCount {
                        let r = Int(oob[i])
                        sc[r] += Double(tv[leaf(base + r * nf)])
                    }
                } else {
                    guard nv > 0, let base = validp.baseAddress else { return }
                    for r in 0..<nv { vsc[r] += Double(tv[leaf(base + r * nf)]) }
                }
            }
            if p.threads > 1 && oobCount > 0 && nv > 0 {
                DispatchQueue.concurrentPerform(iterations: 2, execute: body)
            } else {
                body(0); body(1)
            }
        }}}}}}}}}}}}}}
    }

    /// Appends the new tree (tree-local `t*` arrays) to the model with global node ids.
    func appendTree() {
        let base = Int32(mFeature.count)
        let catBase = Int32(mCatBits.count)
        var depth = 0
        mRoots.append(base)
        for i in 0..<tFeature.count {
            let isLeaf = tFeature[i] < 0
            if isLeaf { depth = max(depth, tDepth[i]) }
            mFeature.append(tFeature[i])
            mThreshold.append(tThreshold[i])
            mDefaultLeft.append(tDefaultLeft[i])
            mLeft.append(isLeaf ? base + Int32(i) : base + tLeft[i])
            mRight.append(isLeaf ? base + Int32(i) : base + tRight[i])
            mValue.append(isLeaf ? tValue[i] : 0)
            mCover.append(tCover[i])
            mCatOffset.append(tCatOffset[i] < 0 ? -1 : catBase + tCatOffset[i])
        }
        mDepths.append(Int32(depth))
        mCatBits.append(contentsOf: tCatBits)
    }

    // MARK: - Histograms

    func acquireHist() -> Int {
        if let i = freeHists.popLast() { return i }
        let count = bins.totalSlots * 3
        let buf = UnsafeMutablePointer<Double>.allocate(capacity: count)
        buf.initialize(repeating: 0, count: count)
        histPool.append(buf)
        return histPool.count - 1
    }

    func releaseHist(_ i: Int) { if i >= 0 { freeHists.append(i) } }

    /// Builds the (g, h, count) histogram of rows `rowIndex[start..<start+count]` for the
    /// tree's features. With several threads each owns a contiguous group of features and
    /// adds the rows in the same order, so the sums do not depend on the thread count.
    func buildHist(_ slot: Int, start: Int, count: Int) {
        if bins.wide { buildHist(bins.bins16, slot, start: start, count: count) } else { buildHist(bins.bins8, slot, start: start, count: count) }
    }

    func buildHist<B: FixedWidthInteger & UnsignedInteger>(_ binArray: [B], _ slot: Int, start: Int, count: Int) {
        let nf = self.nf
        let nfeat = treeFeatures.count
        let threads = min(p.threads, nfeat)
        let histp = histPool[slot]
        binArray.withUnsafeBufferPointer { binp in
        gh.withUnsafeBufferPointer { ghp in
        rowIndex.withUnsafeBufferPointer { rp in
        treeFeatures.withUnsafeBufferPointer { fp in
        treeFeatureOffsets.withUnsafeBufferPointer { op in
        bins.numBins.withUnsafeBufferPointer { nbp in
            let work = GBDTUnsafeSendable(value: (binp.baseAddress!, ghp.baseAddress!, rp.baseAddress!, fp.baseAddress!,
                                                  op.baseAddress!, nbp.baseAddress!, histp))
            let body: @Sendable (Int, Int) -> Void = { chunk, chunks in
                let (binp, ghp, rp, fp, op, nbp, histp) = work.value
                let lo = nfeat * chunk / chunks, hi = nfeat * (chunk + 1) / chunks
                if lo >= hi { return }
                for k in lo..<hi {
                    (histp + op[k]).update(repeating: 0, count: (nbp[fp[k]] + 1) * 3)
                }
                let fs = fp + lo, os = op + lo, m = hi - lo
                // (g, h) are added as one SIMD2 (lane-wise the same IEEE adds as two scalars).
                let ghRaw = UnsafeRawPointer(ghp), histRaw = UnsafeMutableRawPointer(histp)
                for i in start..<(start + count) {
                    let r = Int(rp[i])
                    let gh = ghRaw.loadUnaligned(fromByteOffset: 16 * r, as: SIMD2<Double>.self)
                    let row = binp + r * nf
                    for k in 0..<m {
                        let s = os[k] + Int(row[fs[k]]) * 3
                        let acc = histRaw.loadUnaligned(fromByteOffset: 8 * s, as: SIMD2<Double>.self) + gh
                        histRaw.storeBytes(of: acc, toByteOffset: 8 * s, as: SIMD2<Double>.self)
                        histp[s + 2] += 1
                    }
                }
            }
            if threads > 1 && count >= 4096 {
                DispatchQueue.concurrentPerform(iterations: threads) { c in body(c, threads) }
            } else {
                body(0, 1)
            }
        }}}}}}
    }

    /// hist[large] = hist[parent] - hist[small], in place in the parent's buffer.
    func subtractHist(parent: Int, small: Int) {
        let sp = histPool[small], pp = histPool[parent]
        for (k, f) in treeFeatures.enumerated() {
            let o = treeFeatureOffsets[k]
            for i in o..<(o + (bins.numBins[f] + 1) * 3) { pp[i] -= sp[i] }
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
        let hist = UnsafePointer(histPool[leaf.hist])
        let minGain = max(p.minSplitGain, 1e-12)
        let minData = p.minDataInLeaf, minChild = p.minChildWeight, lambda = p.lambda, alpha = p.alpha
        for f in features {
            let o = bins.slotOffset[f] * 3
            let nb = bins.numBins[f]
            let mg = hist[o + nb * 3], mh = hist[o + nb * 3 + 1], mc = Int(hist[o + nb * 3 + 2])
            let totG = leaf.g, totH = leaf.h, totC = leaf.count
            if bins.cardinality[f] == 0 {
                if nb < 2 { continue }
                let h = hist + o
                if alpha == 0 && mc == 0 {
                    // Hot path: no L1, no missing values in the node (missing right is the only case).
                    // Counts are exact small integers in Double (no conversions in the loop).
                    var lg = 0.0, lh = 0.0, lc = 0.0
                    let totCD = Double(totC), minDataD = Double(minData)
                    var bestGain = best.gain, bestBin = -1
                    for b in 0..<(nb - 1) {
                        let c = h[b * 3 + 2]
                        lg += h[b * 3]; lh += h[b * 3 + 1]; lc += c
                        if c == 0 { continue } // same partition as the previous bin
                        let rg = totG - lg, rh = totH - lh, rc = totCD - lc
                        if lc < minDataD || rc < minDataD || lh < minChild || rh < minChild { continue }
                        let gain = lg * lg / (lh + lambda) + rg * rg / (rh + lambda) - parentScore
                        if gain > bestGain && gain > minGain { bestGain = gain; bestBin = b }
                    }
                    if bestBin >= 0 {
                        var cg = 0.0, ch = 0.0, cc = 0
                        for b in 0...bestBin { cg += h[b * 3]; ch += h[b * 3 + 1]; cc += Int(h[b * 3 + 2]) }
                        let rg = totG - cg, rh = totH - ch, rc = totC - cc
                        best = GBDTSplit(gain: bestGain, feature: f, bin: bestBin, defaultLeft: ch > rh, isCategorical: false,
                                         leftG: cg, leftH: ch, leftCount: cc, rightG: rg, rightH: rh, rightCount: rc)
                    }
                    continue
                }
                if alpha == 0 {
                    // Hot path with missing values in the node: per bin, missing right then
                    // missing left (the same candidates in the same order as the general loop).
                    var lg = 0.0, lh = 0.0, lc = 0.0
                    let totCD = Double(totC), minDataD = Double(minData), mcD = Double(mc)
                    var bestGain = best.gain, bestBin = -1, bestMissLeft = false
                    for b in 0..<(nb - 1) {
                        let c = h[b * 3 + 2]
                        lg += h[b * 3]; lh += h[b * 3 + 1]; lc += c
                        if c == 0 { continue } // same partition as the previous bin
                        let rg = totG - lg, rh = totH - lh, rc = totCD - lc
                        if !(lc < minDataD || rc < minDataD || lh < minChild || rh < minChild) {
                            let gain = lg * lg / (lh + lambda) + rg * rg / (rh + lambda) - parentScore
                            if gain > bestGain && gain > minGain { bestGain = gain; bestBin = b; bestMissLeft = false }
                        }
                        let cg = lg + mg, ch = lh + mh, cc = lc + mcD
                        let rg2 = totG - cg, rh2 = totH - ch, rc2 = totCD - cc
                        if !(cc < minDataD || rc2 < minDataD || ch < minChild || rh2 < minChild) {
                            let gain = cg * cg / (ch + lambda) + rg2 * rg2 / (rh2 + lambda) - parentScore
                            if gain > bestGain && gain > minGain { bestGain = gain; bestBin = b; bestMissLeft = true }
                        }
                    }
                    if bestBin >= 0 {
                        var sg = 0.0, sh = 0.0, sc = 0
                        for b in 0...bestBin { sg += h[b * 3]; sh += h[b * 3 + 1]; sc += Int(h[b * 3 + 2]) }
                        let cg = bestMissLeft ? sg + mg : sg, ch = bestMissLeft ? sh + mh : sh, cc = bestMissLeft ? sc + mc : sc
                        let rg = totG - cg, rh = totH - ch, rc = totC - cc
                        best = GBDTSplit(gain: bestGain, feature: f, bin: bestBin, defaultLeft: bestMissLeft, isCategorical: false,
                                         leftG: cg, leftH: ch, leftCount: cc, rightG: rg, rightH: rh, rightCount: rc)
                    }
                    continue
                }
                var lg = 0.0, lh = 0.0, lc = 0
                for b in 0..<(nb - 1) {
                    lg += h[b * 3]; lh += h[b * 3 + 1]; lc += Int(h[b * 3 + 2])
                    if h[b * 3 + 2] == 0 { continue } // same partition as the previous bin
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
                for c in 0..<nb where hist[o + c * 3 + 2] > 0 { cats.append(c) }
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

    // MARK: - Tree growth

    func resetTree() {
        tFeature.removeAll(keepingCapacity: true); tBin.removeAll(keepingCapacity: true)
        tThreshold.removeAll(keepingCapacity: true); tDefaultLeft.removeAll(keepingCapacity: true)
        tLeft.removeAll(keepingCapacity: true); tRight.removeAll(keepingCapacity: true)
        tValue.removeAll(keepingCapacity: true); tCover.removeAll(keepingCapacity: true)
        tCatOffset.removeAll(keepingCapacity: true); tCatBits.removeAll(keepingCapacity: true)
        tDepth.removeAll(keepingCapacity: true)
    }

    func appendNode(depth: Int) {
        tFeature.append(-1); tBin.append(0); tThreshold.append(0); tDefaultLeft.append(0)
        tLeft.append(0); tRight.append(0); tValue.append(0); tCover.append(0)
        tCatOffset.append(-1); tDepth.append(depth)
    }

    /// Grows one tree into the `t*` arrays and adds its leaf values to the bagged rows' scores.
    func growTree() {
        // Row bag (in row order) and the out-of-bag rows.
        var bagCount = 0
        oobCount = 0
        rowIndex.withUnsafeMutableBufferPointer { ri in
        oobIndex.withUnsafeMutableBufferPointer { oob in
            if p.subsample < 1 {
                for i in 0..<n {
                    if rng.nextDouble() < p.subsample && weights[i] > 0 { ri[bagCount] = Int32(i); bagCount += 1 } else { oob[oobCount] = Int32(i); oobCount += 1 }
                }
                if bagCount == 0 {
                    ri[0] = 0; bagCount = 1
                    if oobCount > 0 && oob[0] == 0 { oobCount -= 1; for k in 0..<oobCount { oob[k] = oob[k + 1] } }
                }
            } else {
                for i in 0..<n {
                    if weights[i] > 0 { ri[bagCount] = Int32(i); bagCount += 1 } else { oob[oobCount] = Int32(i); oobCount += 1 }
                }
            }
        }}
        // Feature subset for this tree.
        treeFeatures = Array(0..<nf)
        if p.colsampleByTree < 1 {
            let k = max(1, Int((p.colsampleByTree * Double(nf)).rounded()))
            treeFeatures = rng.sample(k, of: nf)
        }
        treeFeatureOffsets = treeFeatures.map { bins.slotOffset[$0] * 3 }
        resetTree()
        appendNode(depth: 0)

        var g = 0.0, h = 0.0
        for i in 0..<bagCount { let r = Int(rowIndex[i]); g += gh[2 * r]; h += gh[2 * r + 1] }
        let rootHist = acquireHist()
        buildHist(rootHist, start: 0, count: bagCount)
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
            var catOffset = -1
            if s.isCategorical {
                let card = bins.cardinality[s.feature]
                catOffset = tCatBits.count
                tCatBits.append(contentsOf: repeatElement(0, count: (card + 31) / 32))
                for c in s.leftCategories { tCatBits[catOffset + (c >> 5)] |= 1 << UInt32(c & 31) }
                tCatOffset[leaf.node] = Int32(catOffset)
            } else {
                tThreshold[leaf.node] = bins.cuts[s.feature][s.bin]
                tBin[leaf.node] = Int32(s.bin)
            }
            appendNode(depth: leaf.depth + 1)
            appendNode(depth: leaf.depth + 1)
            // Partition rows (stable): left rows first.
            let leftCount = partition(start: leaf.start, count: leaf.count, split: s, catOffset: catOffset)
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
                          count: smallIsLeft ? lLeaf.count : rLeaf.count)
                subtractHist(parent: leaf.hist, small: small)
                if smallIsLeft { lLeaf.hist = small; rLeaf.hist = leaf.hist } else { rLeaf.hist = small; lLeaf.hist = leaf.hist }
                // Both children's feature draws first (same random sequence as one after the
                // other: findSplit draws nothing), then the two searches, in parallel when allowed.
                let lFeatures = nodeFeatures(treeFeatures), rFeatures = nodeFeatures(treeFeatures)
                if p.threads > 1 {
                    var pair = (GBDTSplit(), GBDTSplit())
                    withUnsafeMutablePointer(to: &pair) { pp in
                        let work = GBDTUnsafeSendable(value: (self, pp, lLeaf, rLeaf, lFeatures, rFeatures))
                        DispatchQueue.concurrentPerform(iterations: 2) { i in
                            let (me, pp, l, r, lf, rf) = work.value
                            if i == 0 { pp.pointee.0 = me.findSplit(l, features: lf) } else { pp.pointee.1 = me.findSplit(r, features: rf) }
                        }
                    }
                    lLeaf.split = pair.0
                    rLeaf.split = pair.1
                } else {
                    lLeaf.split = findSplit(lLeaf, features: lFeatures)
                    rLeaf.split = findSplit(rLeaf, features: rFeatures)
                }
            } else {
                releaseHist(leaf.hist)
            }
            tCover[leaf.node] = Float(leaf.h)
            leaves[bi] = lLeaf
            leaves.append(rLeaf)
        }
        // Finalize leaves: in-bag rows of each leaf get the (Float) leaf value, exactly what a walk gives.
        rowIndex.withUnsafeBufferPointer { ri in
        score.withUnsafeMutableBufferPointer { sc in
            for l in leaves {
                releaseHist(l.hist)
                tValue[l.node] = Float(leafValue(l.g, l.h))
                tCover[l.node] = Float(l.h)
                let v = Double(tValue[l.node])
                for i in l.start..<(l.start + l.count) { sc[Int(ri[i])] += v }
            }
        }}
    }

    func nodeFeatures(_ treeFeatures: [Int]) -> [Int] {
        guard p.colsampleByNode < 1 else { return treeFeatures }
        let k = max(1, Int((p.colsampleByNode * Double(treeFeatures.count)).rounded()))
        return rng.sample(k, of: treeFeatures.count).map { treeFeatures[$0] }
    }

    /// Stable in-place partition of `rowIndex[start..<start+count]`; returns the left count.
    /// `catOffset`: the split's left-set bitset in `tCatBits` (categorical splits).
    func partition(start: Int, count: Int, split s: GBDTSplit, catOffset: Int) -> Int {
        return bins.wide ? partition(binsByFeature16, start: start, count: count, split: s, catOffset: catOffset)
            : partition(binsByFeature8, start: start, count: count, split: s, catOffset: catOffset)
    }

    func partition<B: FixedWidthInteger & UnsignedInteger>(_ binArray: [B], start: Int, count: Int, split s: GBDTSplit,
                                                            catOffset: Int) -> Int {
        let f = s.feature
        let missing = B(bins.numBins[f])
        let n = self.n
        let defaultLeft = s.defaultLeft, splitBin = s.bin
        var nl = 0, nr = 0
        binArray.withUnsafeBufferPointer { bp in
        rowIndex.withUnsafeMutableBufferPointer { ri in
        rowTemp.withUnsafeMutableBufferPointer { rt in
        tCatBits.withUnsafeBufferPointer { cb in
            let col = bp.baseAddress! + f * n
            if s.isCategorical {
                let bits = cb.baseAddress! + catOffset
                for i in start..<(start + count) {
                    let r = ri[i]
                    let b = col[Int(r)]
                    let goLeft = b == missing ? defaultLeft : (bits[Int(b) >> 5] >> UInt32(b & 31)) & 1 != 0
                    // Branch-free: write to both sides, advance one.
                    ri[start + nl] = r; rt[nr] = r
                    let l = goLeft ? 1 : 0
                    nl += l; nr += 1 - l
                }
            } else {
                for i in start..<(start + count) {
                    let r = ri[i]
                    let b = col[Int(r)]
                    let goLeft = b == missing ? defaultLeft : Int(b) <= splitBin
                    // Branch-free: write to both sides, advance one.
                    ri[start + nl] = r; rt[nr] = r
                    let l = goLeft ? 1 : 0
                    nl += l; nr += 1 - l
                }
            }
            for k in 0..<nr { ri[start + nl + k] = rt[k] }
        }}}}
        return nl
    }
}
