import CreditCore
import Foundation

/// The boosting loop of one training run (single use; LightGBM's `GBDT::Train`): per round,
/// a tree is grown on the current gradients (`GBDTTreeLearner`), the cached scores of every
/// training and validation row get its value, the validation log-loss drives early stopping,
/// and one pass computes the next round's gradients (and, on some rounds, the training loss).
/// At the end the ensemble is cut back to the best validation round.
///
/// Scores are cached, so only the new tree is ever evaluated: bagged rows get the value of
/// the leaf they were partitioned into (`GBDTTreeLearner.grow`); out-of-bag training rows and
/// validation rows walk the new tree on their bins (validation rows are binned once with the
/// training cuts), the same route as the float walk of the finished model (see `GBDTBins`).
///
/// Parallel steps (loss/gradients, validation loss terms, scoring of the new tree) run in two
/// fixed halves whose results are combined in order, so they do not depend on the thread count.
final class GBDTBooster {
    let p: GBDTParameters
    let bins: GBDTBins
    let n: Int
    let nf: Int
    let weights: [Double]
    let y: [Double]
    let totalWeight: Double
    let baseScore: Float
    /// Cached training scores (log-odds) of the trees so far.
    var score: [Double]
    /// Gradient and hessian of training row r at 2r and 2r+1.
    var gh: [Double]
    // Validation rows (binned once with the training cuts) and their cached scores.
    let nv: Int
    let validBins8: [UInt8]
    let validBins16: [UInt16]
    let validY: [Double]
    let validW: [Double]?
    var validScore: [Double]
    /// Per-row validation log-loss terms (scratch of `validationLoss`).
    var validLossTerms: [Double]
    let treeLearner: GBDTTreeLearner
    var ensemble = GBDTEnsembleBuilder()
    /// The second thread (nil when `threads` is 1).
    let forkJoin: ForkJoin?

    /// `sparseAbove`: features with more histogram slots than this keep bitmaps
    /// (`GBDTHistograms`; tests set it to compare the sparse and dense paths).
    init(train: LabeledMatrix, validation: LabeledMatrix?, parameters: GBDTParameters, seed: UInt64,
         sparseAbove: Int = GBDTHistograms.defaultSparseAbove) throws {
        p = parameters
        bins = try GBDTBins(train.x, maxBins: parameters.maxBins)
        // Monotone constraints hold for numeric columns (an ordinal feature is one: its rank).
        var monotone = train.monotone
        if let m = monotone {
            for (j, col) in train.x.columns.enumerated() where m[j] != 0 {
                if case .categorical = col.kind { throw GBDTError.invalidParameter(name: "monotone", value: col.name, reason: "is categorical; give it an order (an ordinal feature is numeric)") }
            }
            if m.allSatisfy({ $0 == 0 }) { monotone = nil }
        }
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
        forkJoin = parameters.threads > 1 ? ForkJoin(name: "gbdt-fork-join") : nil
        treeLearner = GBDTTreeLearner(bins: bins, weights: weights, parameters: parameters, seed: seed,
                                      forkJoin: forkJoin, sparseAbove: sparseAbove, monotone: monotone)
    }

    func run(progress: @Sendable (TrainingProgress) -> Void) -> GBDTModel {
        var bestLoss = Double.infinity
        var bestRound = -1
        var bestSize = GBDTEnsembleBuilder.Size()
        _ = lossAndGradients(withLoss: false)
        for round in 0..<p.maxRounds {
            treeLearner.grow(gradients: gh, scores: &score)
            if bins.wide { scoreNewTree(bins.bins16, validBins16) } else { scoreNewTree(bins.bins8, validBins8) }
            ensemble.append(treeLearner.tree)
            var validLoss: Double? = nil
            if nv > 0 {
                let vl = validationLoss()
                validLoss = vl
                if vl < bestLoss {
                    bestLoss = vl
                    bestRound = round
                    bestSize = ensemble.size
                }
            }
            let stop = nv > 0 && p.earlyStoppingRounds > 0 && round - bestRound >= p.earlyStoppingRounds
            let reportLoss = round == 0 || stop || round == p.maxRounds - 1
                || (p.trainLossEvery > 0 && (round + 1) % p.trainLossEvery == 0)
            let trainLoss = lossAndGradients(withLoss: reportLoss)
            progress(TrainingProgress(iteration: round + 1, trainLoss: reportLoss ? trainLoss : nil, validationLoss: validLoss))
            if stop { break }
        }
        if nv > 0, bestRound >= 0, bestRound + 1 < ensemble.size.trees {
            let keep = bestRound + 1
            ensemble.truncate(to: bestSize)
            progress(TrainingProgress(iteration: keep, validationLoss: bestLoss,
                                      message: "early stopping: kept \(keep) trees (best validation log-loss \(bestLoss))"))
        }
        var model = ensemble.model(inputWidth: nf, featureCardinality: bins.cardinality.map { Int32($0) }, baseScore: baseScore)
        model.treeShape = p.treeShape ?? .lossGuided
        return model
    }

    /// Runs `body(0)` and `body(1)` (the two fixed halves of a pass), on the two threads when
    /// there are two and the pass has at least `parallelFrom` rows.
    private func halves(parallelFrom: Int, rows: Int, _ body: (Int) -> Void) {
        if let forkJoin, rows >= parallelFrom { forkJoin.run(body) } else { body(0); body(1) }
    }

    /// Mean (weighted) validation log-loss of the cached validation scores: the per-row terms
    /// are computed in two halves (on the two threads), then summed in row order, so the
    /// value is the same as one sequential pass, whatever the thread count.
    func validationLoss() -> Double {
        let nv = self.nv, w = validW
        validLossTerms.withUnsafeMutableBufferPointer { tp in
        validScore.withUnsafeBufferPointer { sp in
        validY.withUnsafeBufferPointer { yp in
            halves(parallelFrom: 1024, rows: nv) { part in
                for i in (part == 0 ? 0 : nv / 2)..<(part == 0 ? nv / 2 : nv) {
                    let wi = w?[i] ?? 1
                    let z = sp[i]
                    let softplus = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))
                    tp[i] = wi * (softplus - yp[i] * z)
                }
            }
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
            halves(parallelFrom: 1024, rows: n) { c in
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
        }}}}}
        return (partial.0 + partial.1) / totalWeight
    }

    /// Adds the new tree (`treeLearner.tree`) to the cached scores: bagged rows were added in
    /// `grow`; out-of-bag training rows and validation rows walk the tree on their bins.
    func scoreNewTree<B: FixedWidthInteger & UnsignedInteger>(_ trainBins: [B], _ validBins: [B]) {
        let nf = self.nf, nv = self.nv
        let t = treeLearner.tree
        let oob = treeLearner.partition.outOfBag, oobCount = treeLearner.partition.outOfBagCount
        t.feature.withUnsafeBufferPointer { tf in
        t.bin.withUnsafeBufferPointer { tb in
        t.defaultLeft.withUnsafeBufferPointer { dl in
        t.left.withUnsafeBufferPointer { tl in
        t.right.withUnsafeBufferPointer { tr in
        t.catOffset.withUnsafeBufferPointer { co in
        t.catBits.withUnsafeBufferPointer { cb in
        t.value.withUnsafeBufferPointer { tv in
        bins.numBins.withUnsafeBufferPointer { nb in
        trainBins.withUnsafeBufferPointer { trainp in
        score.withUnsafeMutableBufferPointer { sc in
        validBins.withUnsafeBufferPointer { validp in
        validScore.withUnsafeMutableBufferPointer { vsc in
            // Part c: the c-th half of the out-of-bag training rows and of the validation rows
            // (disjoint outputs; each row gets one add, so the split does not matter).
            halves(parallelFrom: 512, rows: oobCount + nv) { part in
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
        }}}}}}}}}}}}}
    }
}
