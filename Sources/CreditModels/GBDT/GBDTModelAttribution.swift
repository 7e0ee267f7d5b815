// Attributions of a `GBDTModel`'s logit to its input columns: path attribution (Saabas), which
// scoring runs for every applicant's reason codes, and exact TreeSHAP for analysis.

extension GBDTModel {
    /// Path attributions (Saabas) per input column; returns the bias (expected log-odds).
    /// For each tree, every step of the row's decision path from node `n` to child `c` adds
    /// `nodeMean[c] − nodeMean[n]` to `feature[n]`, so per tree the steps telescope to
    /// `value[leaf] − nodeMean[root]` and `bias + Σ output == logit(row)` up to Float
    /// rounding (sums in Double). O(depth) per tree, allocation-free (`scratch` holds the
    /// Double accumulator). Routing is the model's split rule (`goesLeft`).
    ///
    /// On the compiled layout each leaf's path attributions are precomputed at load, so this
    /// is a sum of one table row per tree (`GBDTEvaluator.leafAttr`; equal to the path adds up
    /// to Double rounding, tested), skipping the walk for a row `logits` just scored.
    public func contributions(_ row: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                              scratch: ModelScratch) -> Float {
        contributions(row, output, scratch: scratch, pathWalk: false)
    }

    private func contributions(_ row: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                               scratch: ModelScratch, pathWalk: Bool) -> Float {
        precondition(output.count == inputWidth && row.count >= inputWidth)
        let phi = attributions(row, scratch: scratch, pathWalk: pathWalk)
        for i in 0..<inputWidth { output[i] = Float(phi[i]) }
        return Float(expectedLogit)
    }

    /// Path attributions into the scratch's Double buffer (first `inputWidth` entries):
    /// the compiled layout (leaf table, or its path adds with `pathWalk`) or the node walk.
    func attributions(_ row: UnsafeBufferPointer<Float>, scratch: ModelScratch, pathWalk: Bool) -> UnsafeMutableBufferPointer<Double> {
        guard let s = scratch as? GBDTScratch, s.phi.count >= inputWidth else {
            preconditionFailure("GBDTModel.contributions: scratch must come from this model's makeScratch")
        }
        let phi = s.phi
        if let (ev, s) = compiled(scratch) {
            ev.contributions(row.baseAddress!, phi: phi.baseAddress!, q: s.q, leafIdx: s.leafIdx, known: recordedLeaves(row, s),
                             pathWalk: pathWalk)
        } else {
            walkContributions(row, phi)
        }
        return phi
    }

    /// Whether `contributions` sums precomputed per-leaf rows (the compiled layout built its table).
    public var usesLeafAttributionTable: Bool { evaluator?.leafAttr != nil }

    /// The node-array path-attribution walk (into `phi`, Double), the definition the compiled
    /// layout is tested against.
    func walkContributions(_ row: UnsafeBufferPointer<Float>, _ phi: UnsafeMutableBufferPointer<Double>) {
        for i in 0..<inputWidth { phi[i] = 0 }
        feature.withUnsafeBufferPointer { feat in
        threshold.withUnsafeBufferPointer { thr in
        left.withUnsafeBufferPointer { lft in
        right.withUnsafeBufferPointer { rgt in
        defaultLeft.withUnsafeBufferPointer { dfl in
        catOffset.withUnsafeBufferPointer { cof in
        nodeMean.withUnsafeBufferPointer { mean in
        catBits.withUnsafeBufferPointer { bits in
        featureCardinality.withUnsafeBufferPointer { card in
            for root in treeRoots {
                var n = Int(root)
                var f = Int(feat[n])
                while f >= 0 {
                    let x = row[f]
                    var goLeft: Bool
                    let off = Int(cof[n])
                    if off < 0 {
                        goLeft = x.isNaN ? dfl[n] != 0 : x < thr[n]
                    } else if x >= 0, x < Float(card[f]), Float(Int(x)) == x {
                        let c = Int(x)
                        goLeft = (bits[off + (c >> 5)] >> UInt32(c & 31)) & 1 != 0
                    } else {
                        goLeft = dfl[n] != 0   // NaN, unseen or invalid code
                    }
                    let next = goLeft ? Int(lft[n]) : Int(rgt[n])
                    phi[f] += mean[next] - mean[n]
                    n = next
                    f = Int(feat[n])
                }
            }
        }}}}}}}}}
    }

    /// Path attributions with the node-array walk (whatever layout `logits` uses), in
    /// Double; for differential tests of the compiled layout.
    public func walkContributionsDouble(_ row: UnsafeBufferPointer<Float>) -> [Double] {
        let phi = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(inputWidth, 1))
        defer { phi.deallocate() }
        walkContributions(row, phi)
        return Array(phi[0..<inputWidth])
    }

    /// Path attributions in Double (what `contributions` rounds to Float). `pathWalk`: on the
    /// compiled layout, add along the paths instead of summing leaf rows (the previous
    /// evaluator, bit-identical to the node walk; for tests and `credit-bench kernels`).
    public func contributionsDouble(_ row: UnsafeBufferPointer<Float>, scratch: GBDTScratch,
                                    pathWalk: Bool = false) -> (bias: Double, phi: [Double]) {
        let phi = attributions(row, scratch: scratch, pathWalk: pathWalk)
        return (expectedLogit, Array(phi[0..<inputWidth]))
    }

    /// `contributions` with the compiled layout's path adds instead of the leaf table (the
    /// previous evaluator), for before/after measurements. Allocation-free.
    public func pathContributions(_ row: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                                  scratch: ModelScratch) -> Float {
        contributions(row, output, scratch: scratch, pathWalk: true)
    }

    /// Exact TreeSHAP attributions per input column; returns the bias (expected log-odds).
    /// `bias + Σ output == logit(row)` up to Float rounding of the result (sums in Double).
    /// Milliseconds per row for hundreds of trees: scoring uses `contributions` instead.
    public func shapContributions(_ row: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>,
                                  scratch: ModelScratch) -> Float {
        precondition(output.count == inputWidth && row.count >= inputWidth)
        guard let s = scratch as? GBDTScratch, s.pathCapacity >= GBDTScratch.pathSize(maxDepth: Int(treeDepths.max() ?? 0)),
              s.phi.count >= inputWidth else {
            preconditionFailure("GBDTModel.shapContributions: scratch must come from this model's makeScratch")
        }
        let phi = s.phi
        for i in 0..<inputWidth { phi[i] = 0 }
        for r in treeRoots {
            treeSHAP(row: row, phi: phi, node: Int(r), uniqueDepth: 0, parentPath: s.path,
                     parentZeroFraction: 1, parentOneFraction: 1, parentFeature: -1)
        }
        for i in 0..<inputWidth { output[i] = Float(phi[i]) }
        return Float(expectedLogit)
    }

    /// TreeSHAP values in Double (what `shapContributions` rounds to Float).
    public func shapContributionsDouble(_ row: UnsafeBufferPointer<Float>, scratch: GBDTScratch) -> (bias: Double, phi: [Double]) {
        var out = [Float](repeating: 0, count: inputWidth)
        _ = out.withUnsafeMutableBufferPointer { shapContributions(row, $0, scratch: scratch) }
        return (expectedLogit, Array(scratch.phi[0..<inputWidth]))
    }

    // MARK: - TreeSHAP (path-dependent)

    private func treeSHAP(row: UnsafeBufferPointer<Float>, phi: UnsafeMutableBufferPointer<Double>, node: Int,
                          uniqueDepth depthIn: Int, parentPath: UnsafeMutablePointer<GBDTPathElement>,
                          parentZeroFraction: Double, parentOneFraction: Double, parentFeature: Int) {
        var uniqueDepth = depthIn
        let path = parentPath + (uniqueDepth + 1)
        path.update(from: parentPath, count: uniqueDepth + 1)
        GBDTPathElement.extend(path, uniqueDepth, parentZeroFraction, parentOneFraction, parentFeature)
        let f = Int(feature[node])
        if f < 0 {
            let v = Double(value[node])
            if uniqueDepth >= 1 {
                for i in 1...uniqueDepth {
                    let w = GBDTPathElement.unwoundSum(path, uniqueDepth, i)
                    let el = path[i]
                    phi[el.feature] += w * (el.oneFraction - el.zeroFraction) * v
                }
            }
            return
        }
        let goLeft = goesLeft(node, row[f])
        let hot = goLeft ? Int(left[node]) : Int(right[node])
        let cold = goLeft ? Int(right[node]) : Int(left[node])
        let (fl, fr) = GBDTModel.childFractions(node, left, right, cover)
        let hotZero = goLeft ? fl : fr
        let coldZero = goLeft ? fr : fl
        var incomingZero = 1.0, incomingOne = 1.0
        var pathIndex = 0
        while pathIndex <= uniqueDepth {
            if path[pathIndex].feature == f { break }
            pathIndex += 1
        }
        if pathIndex != uniqueDepth + 1 {
            incomingZero = path[pathIndex].zeroFraction
            incomingOne = path[pathIndex].oneFraction
            GBDTPathElement.unwind(path, uniqueDepth, pathIndex)
            uniqueDepth -= 1
        }
        treeSHAP(row: row, phi: phi, node: hot, uniqueDepth: uniqueDepth + 1, parentPath: path,
                 parentZeroFraction: hotZero * incomingZero, parentOneFraction: incomingOne, parentFeature: f)
        treeSHAP(row: row, phi: phi, node: cold, uniqueDepth: uniqueDepth + 1, parentPath: path,
                 parentZeroFraction: coldZero * incomingZero, parentOneFraction: 0, parentFeature: f)
    }
}

/// One element of TreeSHAP's unique path.
public struct GBDTPathElement: Sendable {
    var feature: Int = -1
    var zeroFraction: Double = 0
    var oneFraction: Double = 0
    var pweight: Double = 0

    static func extend(_ p: UnsafeMutablePointer<GBDTPathElement>, _ d: Int, _ zero: Double, _ one: Double, _ feature: Int) {
        p[d].feature = feature
        p[d].zeroFraction = zero
        p[d].oneFraction = one
        p[d].pweight = d == 0 ? 1 : 0
        var i = d - 1
        while i >= 0 {
            p[i + 1].pweight += one * p[i].pweight * Double(i + 1) / Double(d + 1)
            p[i].pweight = zero * p[i].pweight * Double(d - i) / Double(d + 1)
            i -= 1
        }
    }

    static func unwind(_ p: UnsafeMutablePointer<GBDTPathElement>, _ d: Int, _ index: Int) {
        let one = p[index].oneFraction, zero = p[index].zeroFraction
        var nextOne = p[d].pweight
        var i = d - 1
        while i >= 0 {
            if one != 0 {
                let tmp = p[i].pweight
                p[i].pweight = nextOne * Double(d + 1) / (Double(i + 1) * one)
                nextOne = tmp - p[i].pweight * zero * Double(d - i) / Double(d + 1)
            } else {
                p[i].pweight = p[i].pweight * Double(d + 1) / (zero * Double(d - i))
            }
            i -= 1
        }
        var j = index
        while j < d {
            p[j].feature = p[j + 1].feature
            p[j].zeroFraction = p[j + 1].zeroFraction
            p[j].oneFraction = p[j + 1].oneFraction
            j += 1
        }
    }

    static func unwoundSum(_ p: UnsafeMutablePointer<GBDTPathElement>, _ d: Int, _ index: Int) -> Double {
        let one = p[index].oneFraction, zero = p[index].zeroFraction
        var nextOne = p[d].pweight
        var total = 0.0
        var i = d - 1
        while i >= 0 {
            if one != 0 {
                let tmp = nextOne * Double(d + 1) / (Double(i + 1) * one)
                total += tmp
                nextOne = p[i].pweight - tmp * zero * (Double(d - i) / Double(d + 1))
            } else if zero != 0 {
                total += (p[i].pweight / zero) / (Double(d - i) / Double(d + 1))
            }
            i -= 1
        }
        return total
    }
}
