import CreditCore
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
/// Deterministic: the only randomness is `Xoshiro256StarStar(seed)`; with two threads each owns
/// whole features of a tree (their histograms and split searches; rows are added in a fixed
/// order) and the per-thread best splits merge as one scan would, so the model is
/// bit-identical for any `threads`.
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

/// Wraps a value shared by the two threads of a `ForkJoin.run`, which write disjoint parts.
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
    var rng: Xoshiro256StarStar
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
    /// Per-row validation log-loss terms (scratch of `validationLoss`).
    var validLossTerms: [Double]
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
    ///
    /// Wide features (more than `sparseAbove` slots, default 1024: income's 4,096 on the loan
    /// book, three quarters of all slots) also keep a bitmap per buffer of the slots that may
    /// be non-zero (`histBits`, from word `bitBase[f]`, so features never share a word): a
    /// slot whose bit is clear is exactly zero, so the subtraction, the split scan and the
    /// clearing visit only marked bins — a deep node touches a few hundred of income's bins.
    /// The same adds happen in the same order as over the dense slots (skipped slots would add
    /// 0.0), so models are bit-identical to a dense scan. Free buffers have wide features'
    /// slots zero and bits clear (`releaseHist` clears them); narrow features are zeroed when
    /// built.
    var histPool: [UnsafeMutablePointer<Double>] = []
    var histBits: [UnsafeMutablePointer<UInt64>] = []
    var freeHists: [Int] = []
    /// First bitmap word of each wide feature (-1: narrow, dense).
    let bitBase: [Int]
    let bitWords: Int
    static let defaultSparseAbove = 1024
    /// The current tree's features (ascending ids).
    var treeFeatures: [Int] = []
    /// Per thread (`assignParts`): the features it owns in this tree (ascending ids);
    /// `featurePart[f]`: the part that owns feature f.
    var partFeatures: [[Int]] = []
    /// The parts' narrow (dense) and wide (bitmap) features, their slot offsets and bitmap words.
    var partDense: [[Int]] = [], partDenseOffsets: [[Int]] = []
    var partWide: [[Int]] = [], partWideOffsets: [[Int]] = [], partWideBits: [[Int]] = []
    var featurePart: [Int] = []
    /// The two parts' (left, right) splits of `forEachPart`.
    let partResults: UnsafeMutablePointer<(GBDTSplit, GBDTSplit)>
    /// The second thread (nil when `threads` is 1); every parallel step splits its work into
    /// two fixed parts, so the model does not depend on the thread count.
    let pool: ForkJoin?

    /// `sparseAbove`: features with more histogram slots than this keep bitmaps (tests set it
    /// to compare the sparse and dense paths).
    init(train: LabeledMatrix, validation: LabeledMatrix?, parameters: GBDTParameters, seed: UInt64,
         sparseAbove: Int = GBDTTrainer.defaultSparseAbove) throws {
        p = parameters
        pool = parameters.threads > 1 ? ForkJoin(name: "gbdt-fork-join") : nil
        partResults = UnsafeMutablePointer<(GBDTSplit, GBDTSplit)>.allocate(capacity: 2)
        partResults.initialize(repeating: (GBDTSplit(), GBDTSplit()), count: 2)
        bins = try GBDTBins(train.x, maxBins: parameters.maxBins)
        rng = Xoshiro256StarStar(seed: seed)
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
        var wordOffset = 0, bases: [Int] = []
        for j in 0..<nf {
            if bins.numBins[j] + 1 > sparseAbove {
                bases.append(wordOffset); wordOffset += (bins.numBins[j] + 1 + 63) / 64
            } else {
                bases.append(-1)
            }
        }
        bitBase = bases
        bitWords = max(wordOffset, 1)
        rowIndex = [Int32](repeating: 0, count: n)
        rowTemp = [Int32](repeating: 0, count: n)
        oobIndex = [Int32](repeating: 0, count: n)
        binsByFeature8 = bins.wide ? [] : GBDTTrainer.transpose(bins.bins8, rows: n, features: nf)
        binsByFeature16 = bins.wide ? GBDTTrainer.transpose(bins.bins16, rows: n, features: nf) : []
        nv = validation?.rows ?? 0
        validScore = [Double](repeating: Double(baseScore), count: nv)
        validLossTerms = [Double](repeating: 0, count: nv)
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
        for b in histBits { b.deallocate() }
        partResults.deinitialize(count: 2)
        partResults.deallocate()
    }

    func run(progress: @Sendable (TrainingProgress) -> Void) -> GBDTModel {
        var bestLoss = Double.infinity
        var bestRound = -1
        var bestNodeCount = 0, bestCatCount = 0
        _ = lossAndGradients(withLoss: false)
        for round in 0..<p.maxRounds {
            growTree()
            if bins.wide { scoreNewTree(bins.bins16, validBins16) } else { scoreNewTree(bins.bins8, validBins8) }
            appendTree()
            var validLoss: Double? = nil
            if nv > 0 {
                let vl = validationLoss()
                validLoss = vl
                if vl < bestLoss {
                    bestLoss = vl
                    bestRound = round
                    bestNodeCount = mFeature.count
                    bestCatCount = mCatBits.count
                }
            }
            let stop = nv > 0 && p.earlyStoppingRounds > 0 && round - bestRound >= p.earlyStoppingRounds
            let reportLoss = round == 0 || stop || round == p.maxRounds - 1
                || (p.trainLossEvery > 0 && (round + 1) % p.trainLossEvery == 0)
            let trainLoss = lossAndGradients(withLoss: reportLoss)
            progress(TrainingProgress(iteration: round + 1, trainLoss: reportLoss ? trainLoss : nil, validationLoss: validLoss))
            if stop { break }
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

    /// Mean (weighted) validation log-loss of the cached validation scores: the per-row terms
    /// are computed in two halves (on the two threads), then summed in row order, so the
    /// value is the same as one sequential pass, whatever the thread count.
    func validationLoss() -> Double {
        let nv = self.nv
        validLossTerms.withUnsafeMutableBufferPointer { tp in
        validScore.withUnsafeBufferPointer { sp in
        validY.withUnsafeBufferPointer { yp in
            let work = GBDTUnsafeSendable(value: (tp.baseAddress!, sp.baseAddress!, yp.baseAddress!, validW))
            let body: @Sendable (Int) -> Void = { part in
                let (tp, sp, yp, w) = work.value
                for i in (part == 0 ? 0 : nv / 2)..<(part == 0 ? nv / 2 : nv) {
                    let wi = w?[i] ?? 1
                    let z = sp[i]
                    let softplus = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))
                    tp[i] = wi * (softplus - yp[i] * z)
                }
            }
            if let pool, nv >= 1024 { pool.run(body) } else { body(0); body(1) }
        }}}
        var sum = 0.0, tw = 0.0
        for i in 0..<nv { sum += validLossTerms[i]; tw += validW?[i] ?? 1 }
        return tw > 0 ? sum / tw : 0
    }

    /// One pass over the training scores: stores the gradients/hessians of the next round in
    /// `gh` and, when `withLoss`, returns the weighted mean log-loss (else 0; the logarithm per
    /// row is most of the pass). The rows are cut into two fixed halves (run on two threads
    /// when `threads > 1`) whose loss sums are added in order, so the result does not depend
    /// on the thread count.
    func lossAndGradients(withLoss: Bool) -> Double {
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
                    if withLoss {
                        // softplus(z) = z + log(1 + e^-z); for very negative z, e^z directly.
                        let softplus = z > -30 ? z + log(1 + e) : exp(z)
                        sum += w * (softplus - yp[i] * z)
                    }
                }
                if c == 0 { pp.pointee.0 = sum } else { pp.pointee.1 = sum }
            }
            if let pool, n >= 1024 {
                pool.run(body)
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
            // Part c: the c-th half of the out-of-bag training rows and of the validation rows
            // (disjoint outputs; each row gets one add, so the split does not matter).
            let body: @Sendable (Int) -> Void = { part in
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
                if oobCount > 0, let base = trainp.baseAddress {
                    for i in (part == 0 ? 0 : oobCount / 2)..<(part == 0 ? oobCount / 2 : oobCount) {
                        let r = Int(oob[i])
                        sc[r] += Double(tv[leaf(base + r * nf)])
                    }
                }
                if nv > 0, let base = validp.baseAddress {
                    for r in (part == 0 ? 0 : nv / 2)..<(part == 0 ? nv / 2 : nv) { vsc[r] += Double(tv[leaf(base + r * nf)]) }
                }
            }
            if let pool, oobCount + nv >= 512 {
                pool.run(body)
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
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: bitWords)
        bits.initialize(repeating: 0, count: bitWords)
        histBits.append(bits)
        return histPool.count - 1
    }

    /// Returns a buffer to the pool, zeroing its wide features' marked slots and bitmaps.
    func releaseHist(_ i: Int) {
        guard i >= 0 else { return }
        let h = histPool[i], bits = histBits[i]
        for j in 0..<nf where bitBase[j] >= 0 {
            let o = bins.slotOffset[j] * 3, words = bits + bitBase[j], limit = bins.numBins[j] + 1
            GBDTTrainer.forEachSetBit(words, below: limit) { b in (h + o + b * 3).update(repeating: 0, count: 3) }
            words.update(repeating: 0, count: (limit + 63) / 64)
        }
        freeHists.append(i)
    }

    /// Calls `body(b)` for every set bit b < `limit` of `words`, in ascending order.
    @inline(__always)
    static func forEachSetBit(_ words: UnsafePointer<UInt64>, below limit: Int, _ body: (Int) -> Void) {
        guard limit > 0 else { return }
        let nw = (limit + 63) >> 6
        for w in 0..<nw {
            var word = words[w]
            if w == nw - 1 && limit & 63 != 0 { word &= (1 << UInt64(limit & 63)) &- 1 }
            while word != 0 {
                body(w << 6 | word.trailingZeroBitCount)
                word &= word &- 1
            }
        }
    }

    /// Builds the (g, h, count) histogram of rows `rowIndex[start..<start+count]` for the
    /// features of part `part` (`partFeatures[part]`). Each feature's
    /// slots are zeroed and then added to in row order, so the sums do not depend on which
    /// thread builds which feature.
    func buildHist(_ slot: Int, start: Int, count: Int, part: Int) {
        if bins.wide { buildHist(bins.bins16, slot, start: start, count: count, part: part) } else { buildHist(bins.bins8, slot, start: start, count: count, part: part) }
    }

    func buildHist<B: FixedWidthInteger & UnsignedInteger>(_ binArray: [B], _ slot: Int, start: Int, count: Int, part: Int) {
        let nf = self.nf
        let histp = histPool[slot], bitsp = histBits[slot]
        let m = partDense[part].count, ms = partWide[part].count
        guard m + ms > 0 else { return }
        binArray.withUnsafeBufferPointer { binp in
        gh.withUnsafeBufferPointer { ghp in
        rowIndex.withUnsafeBufferPointer { rp in
        partDense[part].withUnsafeBufferPointer { fs in
        partDenseOffsets[part].withUnsafeBufferPointer { os in
        partWide[part].withUnsafeBufferPointer { ws in
        partWideOffsets[part].withUnsafeBufferPointer { wo in
        partWideBits[part].withUnsafeBufferPointer { wb in
            let binp = binp.baseAddress!, rp = rp.baseAddress!
            for k in 0..<m { (histp + os[k]).update(repeating: 0, count: (bins.numBins[fs[k]] + 1) * 3) }
            // (g, h) are added as one SIMD2 (lane-wise the same IEEE adds as two scalars).
            let ghRaw = UnsafeRawPointer(ghp.baseAddress!), histRaw = UnsafeMutableRawPointer(histp)
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
                for k in 0..<ms {
                    let b = Int(row[ws[k]])
                    let s = wo[k] + b * 3
                    bitsp[wb[k] + (b >> 6)] |= 1 << UInt64(b & 63)
                    let acc = histRaw.loadUnaligned(fromByteOffset: 8 * s, as: SIMD2<Double>.self) + gh
                    histRaw.storeBytes(of: acc, toByteOffset: 8 * s, as: SIMD2<Double>.self)
                    histp[s + 2] += 1
                }
            }
        }}}}}}}}
    }

    /// hist[large] = hist[parent] - hist[small] for the features of part `part`, in place in
    /// the parent's buffer.
    func subtractHist(parent: Int, small: Int, part: Int) {
        let sp = histPool[small], pp = histPool[parent], sbits = histBits[small]
        for (k, f) in zip(partDenseOffsets[part], partDense[part]) {
            for i in k..<(k + (bins.numBins[f] + 1) * 3) { pp[i] -= sp[i] }
        }
        // Wide features: only the small child's marked slots (elsewhere it is 0, and p - 0 = p);
        // the parent's marks cover the small child's, so they stay the large child's marks.
        for (k, (f, w)) in zip(partWideOffsets[part], zip(partWide[part], partWideBits[part])) {
            GBDTTrainer.forEachSetBit(sbits + w, below: bins.numBins[f] + 1) { b in
                let i = k + b * 3
                pp[i] -= sp[i]; pp[i + 1] -= sp[i + 1]; pp[i + 2] -= sp[i + 2]
            }
        }
    }

    /// Splits the tree's features into the parts the threads own for the whole tree: each
    /// thread builds, subtracts and scans its own features' histograms, so they stay in its
    /// cache (a histogram is ~130 KB; handing a child's to the other core for the split search
    /// cost more than the search). Parts are balanced on an estimated cost per split (the rows
    /// of a typical small child plus the bins scanned, subtracted and zeroed), greedily from
    /// the costliest feature. Each part lists its features in tree order.
    func assignParts() {
        let threads = pool == nil ? 1 : 2
        var load = [Double](repeating: 0, count: threads)
        var owner = [Int](repeating: 0, count: treeFeatures.count)
        let typicalRows = Double(n) * Double(max(1, p.maxDepth)) / 2 / Double(max(1, p.maxLeaves - 1))
        let order = treeFeatures.indices.sorted { a, b in
            let ca = bins.numBins[treeFeatures[a]], cb = bins.numBins[treeFeatures[b]]
            return ca != cb ? ca > cb : a < b
        }
        for k in order {
            let cost = typicalRows + 2.5 * Double(bins.numBins[treeFeatures[k]] + 1)
            let t = load.indices.min { load[$0] < load[$1] }!
            owner[k] = t
            load[t] += cost
        }
        partFeatures = (0..<threads).map { t in treeFeatures.indices.filter { owner[$0] == t }.map { treeFeatures[$0] } }
        partDense = partFeatures.map { $0.filter { bitBase[$0] < 0 } }
        partDenseOffsets = partDense.map { $0.map { bins.slotOffset[$0] * 3 } }
        partWide = partFeatures.map { $0.filter { bitBase[$0] >= 0 } }
        partWideOffsets = partWide.map { $0.map { bins.slotOffset[$0] * 3 } }
        partWideBits = partWide.map { $0.map { bitBase[$0] } }
        featurePart = [Int](repeating: -1, count: nf)
        for (t, fs) in partFeatures.enumerated() { for f in fs { featurePart[f] = t } }
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
        let hist = UnsafePointer(histPool[leaf.hist]), bits = UnsafePointer(histBits[leaf.hist])
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
                // Wide features visit only their marked bins (unmarked slots are exactly zero).
                let wide = bitBase[f] >= 0, words = bits + max(bitBase[f], 0)
                if alpha == 0 && mc == 0 {
                    // Hot path: no L1, no missing values in the node (missing right is the only case).
                    // Counts are exact small integers in Double (no conversions in the loop).
                    var lg = 0.0, lh = 0.0, lc = 0.0
                    let totCD = Double(totC), minDataD = Double(minData)
                    var bestGain = best.gain, bestBin = -1
                    var cg = 0.0, ch = 0.0, ccD = 0.0   // left sums at the best bin
                    @inline(__always) func visit(_ b: Int) {
                        let c = h[b * 3 + 2]
                        lg += h[b * 3]; lh += h[b * 3 + 1]; lc += c
                        if c == 0 { return } // same partition as the previous bin
                        let rg = totG - lg, rh = totH - lh, rc = totCD - lc
                        if lc < minDataD || rc < minDataD || lh < minChild || rh < minChild { return }
                        let gain = lg * lg / (lh + lambda) + rg * rg / (rh + lambda) - parentScore
                        if gain > bestGain && gain > minGain { bestGain = gain; bestBin = b; cg = lg; ch = lh; ccD = lc }
                    }
                    if wide { GBDTTrainer.forEachSetBit(words, below: nb - 1, visit) } else { for b in 0..<(nb - 1) { visit(b) } }
                    if bestBin >= 0 {
                        let cc = Int(ccD)
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
                    var sg = 0.0, sh = 0.0, scD = 0.0   // left sums (without missing) at the best bin
                    @inline(__always) func visit(_ b: Int) {
                        let c = h[b * 3 + 2]
                        lg += h[b * 3]; lh += h[b * 3 + 1]; lc += c
                        if c == 0 { return } // same partition as the previous bin
                        let rg = totG - lg, rh = totH - lh, rc = totCD - lc
                        if !(lc < minDataD || rc < minDataD || lh < minChild || rh < minChild) {
                            let gain = lg * lg / (lh + lambda) + rg * rg / (rh + lambda) - parentScore
                            if gain > bestGain && gain > minGain {
                                bestGain = gain; bestBin = b; bestMissLeft = false; sg = lg; sh = lh; scD = lc
                            }
                        }
                        let cg = lg + mg, ch = lh + mh, cc = lc + mcD
                        let rg2 = totG - cg, rh2 = totH - ch, rc2 = totCD - cc
                        if !(cc < minDataD || rc2 < minDataD || ch < minChild || rh2 < minChild) {
                            let gain = cg * cg / (ch + lambda) + rg2 * rg2 / (rh2 + lambda) - parentScore
                            if gain > bestGain && gain > minGain {
                                bestGain = gain; bestBin = b; bestMissLeft = true; sg = lg; sh = lh; scD = lc
                            }
                        }
                    }
                    if wide { GBDTTrainer.forEachSetBit(words, below: nb - 1, visit) } else { for b in 0..<(nb - 1) { visit(b) } }
                    if bestBin >= 0 {
                        let sc = Int(scD)
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
                    if rng.uniform() < p.subsample && weights[i] > 0 { ri[bagCount] = Int32(i); bagCount += 1 } else { oob[oobCount] = Int32(i); oobCount += 1 }
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
            treeFeatures = rng.sampleIndices(k, of: nf)
        }
        assignParts()
        resetTree()
        appendNode(depth: 0)

        var g = 0.0, h = 0.0
        for i in 0..<bagCount { let r = Int(rowIndex[i]); g += gh[2 * r]; h += gh[2 * r + 1] }
        let rootHist = acquireHist()
        var root = GBDTLeaf(node: 0, start: 0, count: bagCount, g: g, h: h, depth: 0, hist: rootHist, split: GBDTSplit())
        let rootFeatures = nodeFeaturesByPart()
        root.split = forEachPart { me, part in
            me.buildHist(rootHist, start: 0, count: bagCount, part: part)
            return (me.findSplit(root, features: rootFeatures[part]), GBDTSplit())
        }.0
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
                let smallStart = smallIsLeft ? lLeaf.start : rLeaf.start, smallCount = smallIsLeft ? lLeaf.count : rLeaf.count
                let parentHist = leaf.hist
                if smallIsLeft { lLeaf.hist = small; rLeaf.hist = parentHist } else { rLeaf.hist = small; lLeaf.hist = parentHist }
                // Both children's feature draws first (same random sequence as one after the
                // other: findSplit draws nothing); then per part: the small child's histogram,
                // the large one's by subtraction, and both split searches.
                let lFeatures = nodeFeaturesByPart(), rFeatures = nodeFeaturesByPart()
                let l = lLeaf, r = rLeaf
                let splits = forEachPart { me, part in
                    me.buildHist(small, start: smallStart, count: smallCount, part: part)
                    me.subtractHist(parent: parentHist, small: small, part: part)
                    return (me.findSplit(l, features: lFeatures[part]), me.findSplit(r, features: rFeatures[part]))
                }
                lLeaf.split = splits.0
                rLeaf.split = splits.1
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

    /// A node's features (ascending ids; drawn when `colsampleByNode` < 1, else the tree's)
    /// split by the part that owns them.
    func nodeFeaturesByPart() -> [[Int]] {
        guard p.colsampleByNode < 1 else { return partFeatures }
        let features = nodeFeatures(treeFeatures)
        if partFeatures.count == 1 { return [features] }
        var out = [[Int]](repeating: [], count: partFeatures.count)
        for f in features { out[featurePart[f]].append(f) }
        return out
    }

    /// Runs `body(self, part)` for every part (on the two threads when there are two) and
    /// merges the parts' splits in part order.
    func forEachPart(_ body: (GBDTTrainer, Int) -> (GBDTSplit, GBDTSplit)) -> (GBDTSplit, GBDTSplit) {
        guard let pool, partFeatures.count == 2 else { return body(self, 0) }
        return withoutActuallyEscaping(body) { body in
            let results = partResults
            let work = GBDTUnsafeSendable(value: (self, results, body))
            pool.run { part in work.value.1[part] = work.value.2(work.value.0, part) }
            return (GBDTTrainer.merge(results[0].0, results[1].0), GBDTTrainer.merge(results[0].1, results[1].1))
        }
    }

    func nodeFeatures(_ treeFeatures: [Int]) -> [Int] {
        guard p.colsampleByNode < 1 else { return treeFeatures }
        let k = max(1, Int((p.colsampleByNode * Double(treeFeatures.count)).rounded()))
        return rng.sampleIndices(k, of: treeFeatures.count).map { treeFeatures[$0] }
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
        let defaultLeft = s.defaultLeft, splitBin = s.bin, isCategorical = s.isCategorical
        var nl = 0
        binArray.withUnsafeBufferPointer { bp in
        rowIndex.withUnsafeMutableBufferPointer { ri in
        rowTemp.withUnsafeMutableBufferPointer { rt in
        tCatBits.withUnsafeBufferPointer { cb in
            let col = bp.baseAddress! + f * n
            let bits = isCategorical ? cb.baseAddress! + catOffset : nil
            let ri = ri.baseAddress!, rt = rt.baseAddress!
            /// Partitions ri[from..<from+m]: left rows compacted to ri[from...], right rows to
            /// rt[tmp...], both in row order; returns (left, right) counts.
            @inline(__always) func run(_ from: Int, _ m: Int, _ tmp: Int) -> (Int, Int) {
                var nl = 0, nr = 0
                if let bits {
                    for i in from..<(from + m) {
                        let r = ri[i]
                        let b = col[Int(r)]
                        let goLeft = b == missing ? defaultLeft : (bits[Int(b) >> 5] >> UInt32(b & 31)) & 1 != 0
                        // Branch-free: write to both sides, advance one.
                        ri[from + nl] = r; rt[tmp + nr] = r
                        let l = goLeft ? 1 : 0
                        nl += l; nr += 1 - l
                    }
                } else {
                    for i in from..<(from + m) {
                        let r = ri[i]
                        let b = col[Int(r)]
                        let goLeft = b == missing ? defaultLeft : Int(b) <= splitBin
                        ri[from + nl] = r; rt[tmp + nr] = r
                        let l = goLeft ? 1 : 0
                        nl += l; nr += 1 - l
                    }
                }
                return (nl, nr)
            }
            if let pool, count >= 4096 {
                // Two halves on the two threads, then L0 L1 R0 R1: the same stable order.
                let half = count / 2
                let counts = UnsafeMutablePointer<(Int, Int)>.allocate(capacity: 2)
                defer { counts.deallocate() }
                let work = GBDTUnsafeSendable(value: counts)
                withoutActuallyEscaping(run) { run in
                    let job = GBDTUnsafeSendable(value: run)
                    pool.run { part in
                        work.value[part] = part == 0 ? job.value(start, half, 0) : job.value(start + half, count - half, half)
                    }
                }
                let (nl0, nr0) = counts[0], (nl1, nr1) = counts[1]
                for k in 0..<nl1 { ri[start + nl0 + k] = ri[start + half + k] }   // moves left: forward copy is safe
                (ri + start + nl0 + nl1).update(from: rt, count: nr0)
                (ri + start + nl0 + nl1 + nr0).update(from: rt + half, count: nr1)
                nl = nl0 + nl1
            } else {
                let (l, r) = run(start, count, 0)
                (ri + start + l).update(from: rt, count: r)
                nl = l
            }
        }}}}
        return nl
    }
}
