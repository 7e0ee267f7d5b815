import CreditCore

/// A leaf of the tree being grown, and a candidate for the next split.
struct GBDTLeaf {
    var node: Int
    /// Its rows: `count` rows from `start` in the partition's row order.
    var start: Int
    var count: Int
    /// Gradient and hessian sums of its rows.
    var g: Double
    var h: Double
    var depth: Int
    /// Its histogram buffer in `GBDTHistograms`, -1 when released.
    var hist: Int
    /// Its best split (feature -1: none).
    var split: GBDTSplit
    /// Bounds on its value from monotone constraints (±inf when free).
    var lower = -Double.infinity
    var upper = Double.infinity
    /// Its node's feature draw, per part, kept only under the intermediate monotone method (to
    /// search its split again when its bounds change: `GBDTMonotoneBounds`).
    var features: [[Int]] = []
}

/// Grows one tree per round, loss-guided (LightGBM's `SerialTreeLearner`): draws the row bag
/// and the tree's features, then repeatedly splits the leaf whose best split gains most (ties
/// to the lowest node id) until `maxLeaves` leaves or no leaf can split; `maxDepth` bounds
/// every path. Each split partitions the leaf's rows, builds the smaller child's histogram,
/// takes the larger child's as parent − smaller (in the parent's buffer) and searches both
/// children's best splits; per-node feature draws (`colsampleByNode`) happen here too.
///
/// With a `ForkJoin`, each thread owns part of the tree's features (`GBDTFeatureParts`) and,
/// per split, builds, subtracts and scans them in one fork-join; the parts' best splits merge
/// as one scan would, so the tree does not depend on the thread count.
///
/// All randomness (bag, tree features, node features) comes from `rng`, in that order per tree.
final class GBDTTreeLearner {
    let p: GBDTParameters
    let bins: GBDTBins
    let weights: [Double]
    let splitFinder: GBDTSplitFinder
    let histograms: GBDTHistograms
    let partition: GBDTDataPartition
    let forkJoin: ForkJoin?
    private var rng: Xoshiro256StarStar
    /// The tree grown by the last `grow` (tree-local node ids).
    var tree = GBDTTree()
    /// The current tree's features (ascending ids) and their split between the threads.
    private var treeFeatures: [Int] = []
    private(set) var parts = GBDTFeatureParts()
    /// The two parts' (left, right) splits of `forEachPart`.
    private let partResults: UnsafeMutablePointer<(GBDTSplit, GBDTSplit)>
    /// Per part, the split scans' scratch.
    let scanScratch: [GBDTSplitFinder.ScanScratch]
    /// Per part, the level scans' scratch (oblivious trees only; GBDTObliviousTreeLearner.swift).
    let levelScratch: [GBDTSplitFinder.LevelScratch]
    /// Leaf regions and values for the intermediate monotone method (nil: no constraint, the
    /// basic method, or oblivious trees).
    let monotoneBounds: GBDTMonotoneBounds?

    init(bins: GBDTBins, weights: [Double], parameters: GBDTParameters, seed: UInt64, forkJoin: ForkJoin?,
         sparseAbove: Int, monotone: [Int8]? = nil) {
        p = parameters
        self.bins = bins
        self.weights = weights
        self.forkJoin = forkJoin
        rng = Xoshiro256StarStar(seed: seed)
        histograms = GBDTHistograms(bins: bins, sparseAbove: sparseAbove)
        splitFinder = GBDTSplitFinder(parameters: parameters, bins: bins, bitBase: histograms.bitBase, monotone: monotone)
        partition = GBDTDataPartition(bins: bins, forkJoin: forkJoin)
        partResults = UnsafeMutablePointer<(GBDTSplit, GBDTSplit)>.allocate(capacity: 2)
        partResults.initialize(repeating: (GBDTSplit(), GBDTSplit()), count: 2)
        let widest = (0..<bins.features).map { bins.numBins[$0] + 1 }.max() ?? 1
        scanScratch = (0..<2).map { _ in GBDTSplitFinder.ScanScratch(bins: bins) }
        levelScratch = parameters.treeShape == .oblivious ? (0..<2).map { _ in GBDTSplitFinder.LevelScratch(capacity: widest) } : []
        if let monotone, parameters.treeShape != .oblivious, parameters.monotoneMethod == .intermediate {
            monotoneBounds = GBDTMonotoneBounds(bins: bins, sign: monotone)
        } else {
            monotoneBounds = nil
        }
    }

    deinit {
        partResults.deinitialize(count: 2)
        partResults.deallocate()
    }

    /// Σ g and Σ h over the bagged rows: the root's totals, whatever the tree's shape.
    func bagSums(_ gh: [Double]) -> (g: Double, h: Double) {
        let rows = partition.rows
        var g = 0.0, h = 0.0
        for i in 0..<partition.bagCount { let r = Int(rows[i]); g += gh[2 * r]; h += gh[2 * r + 1] }
        return (g, h)
    }

    /// Grows one tree into `tree` on the gradients `gh` (g, h of row r at 2r, 2r+1) and adds
    /// its leaf values to the bagged rows' `scores` (the out-of-bag rows are left to the caller:
    /// `partition.outOfBag`).
    func grow(gradients gh: [Double], scores: inout [Double]) {
        if p.treeShape == .oblivious { return growOblivious(gradients: gh, scores: &scores) }
        beginTree()
        let bagCount = partition.bagCount
        let rows = partition.rows
        let (g, h) = bagSums(gh)
        let rootHist = histograms.acquire()
        var root = GBDTLeaf(node: 0, start: 0, count: bagCount, g: g, h: h, depth: 0, hist: rootHist, split: GBDTSplit())
        let rootFeatures = nodeFeaturesByPart()
        if monotoneBounds != nil { root.features = rootFeatures }
        monotoneBounds?.reset(rootValue: splitFinder.leafValue(g, h))
        root.split = forEachPart { part in
            histograms.build(rootHist, rows: rows, count: bagCount, gradients: gh, part: parts[part])
            return (findSplit(root, features: rootFeatures[part], part: part), GBDTSplit())
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
            let (nodeL, nodeR, catOffset) = tree.split(leaf.node, by: s, bins: bins)
            let leftCount = tree.catBits.withUnsafeBufferPointer { cb in
                partition.split(start: leaf.start, count: leaf.count, by: s,
                                leftCategories: catOffset >= 0 ? cb.baseAddress! + catOffset : nil)
            }
            precondition(leftCount == s.leftCount, "GBDT: partition disagrees with histogram")
            var lLeaf = GBDTLeaf(node: nodeL, start: leaf.start, count: leftCount, g: s.leftG, h: s.leftH,
                                 depth: leaf.depth + 1, hist: -1, split: GBDTSplit())
            var rLeaf = GBDTLeaf(node: nodeR, start: leaf.start + leftCount, count: leaf.count - leftCount, g: s.rightG, h: s.rightH,
                                 depth: leaf.depth + 1, hist: -1, split: GBDTSplit())
            lLeaf.lower = leaf.lower; lLeaf.upper = leaf.upper
            rLeaf.lower = leaf.lower; rLeaf.upper = leaf.upper
            let sign = splitFinder.monotone[s.feature]
            // Intermediate method: the leaves ordered with this one before the split get their
            // bounds again, from its children, once those exist.
            var ordered: [Int] = []
            if let mb = monotoneBounds {
                ordered = mb.ordered(with: bi)
                let right = mb.split(bi, by: s, leftValue: splitFinder.leafValue(s.leftG, s.leftH, lower: leaf.lower, upper: leaf.upper),
                                     rightValue: splitFinder.leafValue(s.rightG, s.rightH, lower: leaf.lower, upper: leaf.upper))
                (lLeaf.lower, lLeaf.upper) = mb.bounds(of: bi)
                (rLeaf.lower, rLeaf.upper) = mb.bounds(of: right)
            } else if sign != 0 {
                // Children on either side of the midpoint of their (clamped) values.
                let wl = splitFinder.leafValue(s.leftG, s.leftH, lower: leaf.lower, upper: leaf.upper)
                let wr = splitFinder.leafValue(s.rightG, s.rightH, lower: leaf.lower, upper: leaf.upper)
                let mid = (wl + wr) / 2
                if sign > 0 { lLeaf.upper = min(lLeaf.upper, mid); rLeaf.lower = max(rLeaf.lower, mid) }
                else { lLeaf.lower = max(lLeaf.lower, mid); rLeaf.upper = min(rLeaf.upper, mid) }
            }
            let canSplitChildren = leaf.depth + 1 < p.maxDepth && leaves.count + 1 < p.maxLeaves
            if canSplitChildren {
                let small = histograms.acquire()
                let smallIsLeft = lLeaf.count <= rLeaf.count
                let smallStart = smallIsLeft ? lLeaf.start : rLeaf.start, smallCount = smallIsLeft ? lLeaf.count : rLeaf.count
                let parentHist = leaf.hist
                if smallIsLeft { lLeaf.hist = small; rLeaf.hist = parentHist } else { rLeaf.hist = small; lLeaf.hist = parentHist }
                // Both children's feature draws first (same random sequence as one after the
                // other: findSplit draws nothing); then per part: the small child's histogram,
                // the large one's by subtraction, and both split searches.
                let lFeatures = nodeFeaturesByPart(), rFeatures = nodeFeaturesByPart()
                if monotoneBounds != nil { lLeaf.features = lFeatures; rLeaf.features = rFeatures }
                let l = lLeaf, r = rLeaf
                let splits = forEachPart { part in
                    histograms.build(small, rows: rows + smallStart, count: smallCount, gradients: gh, part: parts[part])
                    histograms.subtract(parent: parentHist, small: small, part: parts[part])
                    return (findSplit(l, features: lFeatures[part], part: part), findSplit(r, features: rFeatures[part], part: part))
                }
                lLeaf.split = splits.0
                rLeaf.split = splits.1
            } else {
                histograms.release(leaf.hist)
            }
            tree.cover[leaf.node] = Float(leaf.h)
            leaves[bi] = lLeaf
            leaves.append(rLeaf)
            if let mb = monotoneBounds {
                for y in ordered {
                    let (lower, upper) = mb.bounds(of: y)
                    guard lower != leaves[y].lower || upper != leaves[y].upper else { continue }
                    leaves[y].lower = lower; leaves[y].upper = upper
                    // A split found under the old bounds may now break the order (or a better
                    // one be allowed): search again, on the same histogram and feature draw.
                    guard leaves[y].hist >= 0, leaves.count < p.maxLeaves else { continue }
                    let ly = leaves[y]
                    leaves[y].split = forEachPart { part in (findSplit(ly, features: ly.features[part], part: part), GBDTSplit()) }.0
                }
            }
        }
        // Finalize leaves: in-bag rows of each leaf get the (Float) leaf value, exactly what a walk gives.
        scores.withUnsafeMutableBufferPointer { sc in
            for (slot, l) in leaves.enumerated() {
                histograms.release(l.hist)
                // Intermediate method: the value fixed at the leaf's creation, which its
                // neighbours' bounds were taken from.
                let value = monotoneBounds.map { $0.value[slot] } ?? splitFinder.leafValue(l.g, l.h, lower: l.lower, upper: l.upper)
                tree.value[l.node] = Float(value)
                tree.cover[l.node] = Float(l.h)
                let v = Double(tree.value[l.node])
                for i in l.start..<(l.start + l.count) { sc[Int(rows[i])] += v }
            }
        }
    }

    /// A tree's draws (row bag, then its features), the parts, and a tree of one leaf.
    func beginTree() {
        partition.drawBag(subsample: p.subsample, weights: weights, rng: &rng)
        treeFeatures = Array(0..<bins.features)
        if p.colsampleByTree < 1 {
            let k = max(1, Int((p.colsampleByTree * Double(bins.features)).rounded()))
            treeFeatures = rng.sampleIndices(k, of: bins.features)
        }
        let leaves = p.treeShape == .oblivious ? 1 << min(p.maxDepth, 20) : p.maxLeaves
        let typicalRows = Double(bins.rows) * Double(max(1, p.maxDepth)) / 2 / Double(max(1, leaves - 1))
        parts = GBDTFeatureParts(treeFeatures: treeFeatures, threads: forkJoin == nil ? 1 : 2, bins: bins,
                                 bitBase: histograms.bitBase, typicalRows: typicalRows)
        tree.reset()
        tree.appendLeaf(depth: 0)
    }

    private func findSplit(_ leaf: GBDTLeaf, features: [Int], part: Int) -> GBDTSplit {
        splitFinder.findSplit(leaf, histogram: histograms.values(leaf.hist), bitmap: histograms.bitmap(leaf.hist),
                              features: features, scratch: scanScratch[part])
    }

    /// A node's features (ascending ids; drawn when `colsampleByNode` < 1, else the tree's)
    /// split by the part that owns them.
    private func nodeFeaturesByPart() -> [[Int]] {
        guard p.colsampleByNode < 1 else { return parts.featuresByPart }
        let k = max(1, Int((p.colsampleByNode * Double(treeFeatures.count)).rounded()))
        return parts.byPart(rng.sampleIndices(k, of: treeFeatures.count).map { treeFeatures[$0] })
    }

    /// Runs `body(part)` for every part (on the two threads when there are two) and merges the
    /// parts' (left, right) splits in part order.
    func forEachPart(_ body: (Int) -> (GBDTSplit, GBDTSplit)) -> (GBDTSplit, GBDTSplit) {
        guard let forkJoin, parts.count == 2 else { return body(0) }
        let results = partResults
        forkJoin.run { part in results[part] = body(part) }
        return (GBDTSplitFinder.merge(results[0].0, results[1].0), GBDTSplitFinder.merge(results[0].1, results[1].1))
    }
}
