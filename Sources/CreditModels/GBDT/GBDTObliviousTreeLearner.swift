/// Oblivious (symmetric) trees: `GBDTParameters.treeShape == .oblivious`.
///
/// Level by level, every node of the level is split by the same (feature, threshold or
/// category, missing side), the candidate with the highest gain summed over the level's nodes
/// (`GBDTSplitFinder.findLevelSplit`), until `maxDepth` levels or no candidate gains. Every
/// node is split, also one without rows: an empty child takes its parent's value (clamped
/// to its monotone bounds), so the tree stays complete and monotone. Monotone features bound
/// the children by the midpoint of their values, as in `grow` — or, with the cosine score
/// (`GBDTLevelScore.cosine`), the levels are chosen without bounds and the leaf values are
/// projected onto the constraints at the end (`GBDTMonotoneProjection`). Histograms: per pair of
/// children the smaller is built and the larger is parent − smaller; each thread builds,
/// subtracts and scans its own features for the whole level in one fork-join.
///
/// The tree is stored like any other (node arrays, one split per node), so the model format,
/// the reference walk and attributions are unchanged; the compiled evaluator recognises
/// complete trees whose levels share one test and evaluates them level by level for 16 rows
/// at once (GBDTObliviousEvaluator.swift).
extension GBDTTreeLearner {
    func growOblivious(gradients gh: [Double], scores: inout [Double]) {
        beginTree()
        // The cosine score keeps monotone constraints by projecting the leaf values at the end
        // (GBDTCosineLevelSplit.swift), not by bounds.
        let projected = p.levelScore == .cosine && splitFinder.monotone.contains { $0 != 0 }
        var levels: [GBDTMonotoneProjection.Level] = []
        let bagCount = partition.bagCount
        let rows = partition.rows
        let (g, h) = bagSums(gh)
        let rootHist = histograms.acquire()
        var level = [GBDTLeaf(node: 0, start: 0, count: bagCount, g: g, h: h, depth: 0, hist: rootHist, split: GBDTSplit())]
        // The value an empty node takes (its parent's, clamped to its bounds).
        var inherited = [splitFinder.leafValue(g, h)]
        var split = forEachPart { part in
            histograms.build(rootHist, rows: rows, count: bagCount, gradients: gh, part: parts[part])
            return (levelSplit(level, part: part), GBDTSplit())
        }.0
        var depth = 0
        while split.feature >= 0 {
            var s = split
            let hists = level.map { UnsafePointer(histograms.values($0.hist)) }
            if splitFinder.missingCount(s.feature, histograms: hists) == 0 {
                // No missing values at this level: missing goes to the side with more hessian.
                var lh = 0.0, rh = 0.0
                for (k, n) in level.enumerated() { let l = splitFinder.leftSums(s, histogram: hists[k]); lh += l.h; rh += n.h - l.h }
                s.defaultLeft = lh > rh
            }
            let sign = projected ? 0 : splitFinder.monotone[s.feature]
            levels.append(.init(feature: s.feature, bin: s.bin, sign: splitFinder.monotone[s.feature], isCategorical: s.isCategorical))
            var next: [GBDTLeaf] = [], nextInherited: [Double] = []
            next.reserveCapacity(2 * level.count)
            for (k, leaf) in level.enumerated() {
                let (nodeL, nodeR, catOffset) = tree.split(leaf.node, by: s, bins: bins)
                let (lg, lh, lc) = splitFinder.leftSums(s, histogram: hists[k])
                if leaf.count > 0 {
                    let leftCount = tree.catBits.withUnsafeBufferPointer { cb in
                        partition.split(start: leaf.start, count: leaf.count, by: s,
                                        leftCategories: catOffset >= 0 ? cb.baseAddress! + catOffset : nil)
                    }
                    precondition(leftCount == lc, "GBDT: partition disagrees with histogram")
                }
                var l = GBDTLeaf(node: nodeL, start: leaf.start, count: lc, g: lg, h: lh, depth: depth + 1, hist: -1, split: GBDTSplit())
                var r = GBDTLeaf(node: nodeR, start: leaf.start + lc, count: leaf.count - lc, g: leaf.g - lg, h: leaf.h - lh,
                                 depth: depth + 1, hist: -1, split: GBDTSplit())
                l.lower = leaf.lower; l.upper = leaf.upper
                r.lower = leaf.lower; r.upper = leaf.upper
                let own = leaf.count > 0 ? splitFinder.leafValue(leaf.g, leaf.h, lower: leaf.lower, upper: leaf.upper) : inherited[k]
                if sign != 0 {
                    let wl = l.count > 0 ? splitFinder.leafValue(l.g, l.h, lower: leaf.lower, upper: leaf.upper) : own
                    let wr = r.count > 0 ? splitFinder.leafValue(r.g, r.h, lower: leaf.lower, upper: leaf.upper) : own
                    let mid = (wl + wr) / 2
                    if sign > 0 { l.upper = min(l.upper, mid); r.lower = max(r.lower, mid) }
                    else { l.lower = max(l.lower, mid); r.upper = min(r.upper, mid) }
                }
                tree.cover[leaf.node] = Float(leaf.h)
                next.append(l); next.append(r)
                nextInherited.append(min(max(own, l.lower), l.upper))
                nextInherited.append(min(max(own, r.lower), r.upper))
            }
            if depth + 1 < p.maxDepth {
                // Children's histograms: the smaller of each pair built, the larger by subtraction.
                var jobs: [(small: Int, start: Int, count: Int, parent: Int)] = []
                for k in level.indices {
                    let small = histograms.acquire()
                    let smallIsLeft = next[2 * k].count <= next[2 * k + 1].count
                    let si = smallIsLeft ? 2 * k : 2 * k + 1
                    next[si].hist = small
                    next[si ^ 1].hist = level[k].hist
                    jobs.append((small, next[si].start, next[si].count, level[k].hist))
                }
                let nodes = next
                split = forEachPart { part in
                    for j in jobs {
                        histograms.build(j.small, rows: rows + j.start, count: j.count, gradients: gh, part: parts[part])
                        histograms.subtract(parent: j.parent, small: j.small, part: parts[part])
                    }
                    return (levelSplit(nodes, part: part), GBDTSplit())
                }.0
            } else {
                for leaf in level { histograms.release(leaf.hist) }
                split = GBDTSplit()
            }
            level = next
            inherited = nextInherited
            depth += 1
        }
        var values: [Double]? = nil
        if projected {
            // Newton values weighted by their rows (an empty leaf: its parent's, weighing nothing).
            let t = level.enumerated().map { k, l in l.count > 0 ? splitFinder.leafValue(l.g, l.h) : inherited[k] }
            let w = level.map { $0.count > 0 ? Double($0.count) : 1e-9 }
            values = GBDTMonotoneProjection.project(targets: t, weights: w, pairs: GBDTMonotoneProjection.orderedPairs(levels: levels))
        }
        // Leaves: in-bag rows get the (Float) leaf value, exactly what a walk gives.
        scores.withUnsafeMutableBufferPointer { sc in
            for (k, l) in level.enumerated() {
                histograms.release(l.hist)
                let v0 = values?[k] ?? (l.count > 0 ? splitFinder.leafValue(l.g, l.h, lower: l.lower, upper: l.upper) : inherited[k])
                tree.value[l.node] = Float(v0)
                tree.cover[l.node] = Float(l.h)
                let v = Double(tree.value[l.node])
                for i in l.start..<(l.start + l.count) { sc[Int(rows[i])] += v }
            }
        }
    }

    /// One part's best level split over its features.
    private func levelSplit(_ nodes: [GBDTLeaf], part: Int) -> GBDTSplit {
        let hists = nodes.map { UnsafePointer(histograms.values($0.hist)) }, bitmaps = nodes.map { UnsafePointer(histograms.bitmap($0.hist)) }
        if p.levelScore == .cosine {
            return splitFinder.findCosineLevelSplit(nodes, histograms: hists, bitmaps: bitmaps, features: parts.featuresByPart[part],
                                                    scratch: levelScratch[part])
        }
        return splitFinder.findLevelSplit(nodes, histograms: hists, bitmaps: bitmaps, features: parts.featuresByPart[part],
                                          scratch: levelScratch[part])
    }
}
