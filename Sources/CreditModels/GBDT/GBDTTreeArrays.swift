/// The tree being grown: flat parallel arrays over tree-local node ids (node 0 = root),
/// reused across rounds (`reset` keeps their capacity).
///
/// A node is a leaf while `feature` is -1. Besides what the model stores, a node keeps its
/// split bin (`bin`: bins 0...bin go left), which the booster uses to route out-of-bag and
/// validation rows on their bins, and its depth.
struct GBDTTree {
    var feature: [Int32] = [], bin: [Int32] = [], threshold: [Float] = [], defaultLeft: [UInt8] = []
    var left: [Int32] = [], right: [Int32] = [], value: [Float] = [], cover: [Float] = []
    var catOffset: [Int32] = [], catBits: [UInt32] = [], depth: [Int] = []

    var nodeCount: Int { feature.count }

    mutating func reset() {
        feature.removeAll(keepingCapacity: true); bin.removeAll(keepingCapacity: true)
        threshold.removeAll(keepingCapacity: true); defaultLeft.removeAll(keepingCapacity: true)
        left.removeAll(keepingCapacity: true); right.removeAll(keepingCapacity: true)
        value.removeAll(keepingCapacity: true); cover.removeAll(keepingCapacity: true)
        catOffset.removeAll(keepingCapacity: true); catBits.removeAll(keepingCapacity: true)
        depth.removeAll(keepingCapacity: true)
    }

    /// Appends a leaf at `depth`; returns its id.
    @discardableResult
    mutating func appendLeaf(depth d: Int) -> Int {
        feature.append(-1); bin.append(0); threshold.append(0); defaultLeft.append(0)
        left.append(0); right.append(0); value.append(0); cover.append(0)
        catOffset.append(-1); depth.append(d)
        return feature.count - 1
    }

    /// Turns leaf `node` into an internal node with split `s` and appends its two children
    /// (leaves); returns the children's ids and, for a categorical split, the offset of its
    /// left-set bitset in `catBits` (else -1).
    mutating func split(_ node: Int, by s: GBDTSplit, bins: GBDTBins) -> (left: Int, right: Int, catOffset: Int) {
        let nodeL = nodeCount, nodeR = nodeL + 1
        feature[node] = Int32(s.feature)
        defaultLeft[node] = s.defaultLeft ? 1 : 0
        left[node] = Int32(nodeL)
        right[node] = Int32(nodeR)
        var offset = -1
        if s.isCategorical {
            let card = bins.cardinality[s.feature]
            offset = catBits.count
            catBits.append(contentsOf: repeatElement(0, count: (card + 31) / 32))
            for c in s.leftCategories { catBits[offset + (c >> 5)] |= 1 << UInt32(c & 31) }
            catOffset[node] = Int32(offset)
        } else {
            threshold[node] = bins.cuts[s.feature][s.bin]
            bin[node] = Int32(s.bin)
        }
        appendLeaf(depth: depth[node] + 1)
        appendLeaf(depth: depth[node] + 1)
        return (nodeL, nodeR, offset)
    }
}

/// The model's node arrays under construction (`GBDTModel`'s layout: global node ids, a leaf
/// points to itself), one tree appended per round; truncated to the best round at the end.
struct GBDTEnsembleBuilder {
    var feature: [Int32] = [], threshold: [Float] = [], defaultLeft: [UInt8] = []
    var left: [Int32] = [], right: [Int32] = [], value: [Float] = [], cover: [Float] = []
    var catOffset: [Int32] = [], catBits: [UInt32] = []
    var roots: [Int32] = [], depths: [Int32] = []

    /// How much of the arrays the first `trees` trees use (what `truncate` keeps).
    struct Size {
        var trees = 0, nodes = 0, catWords = 0
    }

    var size: Size { Size(trees: roots.count, nodes: feature.count, catWords: catBits.count) }

    /// Appends `t` with global node ids.
    mutating func append(_ t: GBDTTree) {
        let base = Int32(feature.count)
        let catBase = Int32(catBits.count)
        var depth = 0
        roots.append(base)
        for i in 0..<t.nodeCount {
            let isLeaf = t.feature[i] < 0
            if isLeaf { depth = max(depth, t.depth[i]) }
            feature.append(t.feature[i])
            threshold.append(t.threshold[i])
            defaultLeft.append(t.defaultLeft[i])
            left.append(isLeaf ? base + Int32(i) : base + t.left[i])
            right.append(isLeaf ? base + Int32(i) : base + t.right[i])
            value.append(isLeaf ? t.value[i] : 0)
            cover.append(t.cover[i])
            catOffset.append(t.catOffset[i] < 0 ? -1 : catBase + t.catOffset[i])
        }
        depths.append(Int32(depth))
        catBits.append(contentsOf: t.catBits)
    }

    /// Drops every tree after the first `size.trees`.
    mutating func truncate(to size: Size) {
        roots.removeLast(roots.count - size.trees)
        depths.removeLast(depths.count - size.trees)
        feature.removeLast(feature.count - size.nodes)
        left.removeLast(left.count - size.nodes)
        right.removeLast(right.count - size.nodes)
        catOffset.removeLast(catOffset.count - size.nodes)
        threshold.removeLast(threshold.count - size.nodes)
        value.removeLast(value.count - size.nodes)
        cover.removeLast(cover.count - size.nodes)
        defaultLeft.removeLast(defaultLeft.count - size.nodes)
        catBits.removeLast(catBits.count - size.catWords)
    }

    func model(inputWidth: Int, featureCardinality: [Int32], baseScore: Float) -> GBDTModel {
        GBDTModel(inputWidth: inputWidth, featureCardinality: featureCardinality, baseScore: baseScore,
                  treeRoots: roots, treeDepths: depths, feature: feature, threshold: threshold,
                  defaultLeft: defaultLeft, left: left, right: right, value: value, cover: cover,
                  catOffset: catOffset, catBits: catBits)
    }
}
