/// Which thread owns which of a tree's features, for the whole tree.
///
/// Each thread builds, subtracts and scans its own features' histograms, so they stay in its
/// cache: a histogram is ~130 KB, and handing a child's to the other core for the split
/// search cost more than the search. Parts are balanced on an estimated cost per split (the
/// rows of a typical small child plus the bins scanned, subtracted and zeroed), greedily from
/// the costliest feature. Each part lists its features in tree order. The split of work does
/// not change the model: histogram sums do not depend on the thread that adds them, and the
/// parts' best splits merge as one scan would (`GBDTSplitFinder.merge`).
struct GBDTFeatureParts {
    /// One thread's features, split into narrow (dense) and wide (bitmap) ones with their
    /// histogram offsets (`slotOffset * 4`) and, for wide ones, first bitmap words.
    struct Part {
        var features: [Int] = []
        var dense: [Int] = [], denseOffsets: [Int] = []
        var wide: [Int] = [], wideOffsets: [Int] = [], wideBits: [Int] = []
    }

    private(set) var parts: [Part] = []
    /// `parts[t].features` for every part t (what a node searches without per-node sampling).
    private(set) var featuresByPart: [[Int]] = []
    /// The part that owns feature f (-1: not in the tree).
    private var featurePart: [Int] = []

    var count: Int { parts.count }

    subscript(part: Int) -> Part { parts[part] }

    init() {}

    /// Splits `treeFeatures` (ascending ids) between `threads` parts (1 or 2). `typicalRows`:
    /// the rows of a typical small child, the per-feature cost of building a histogram.
    init(treeFeatures: [Int], threads: Int, bins: GBDTBins, bitBase: [Int], typicalRows: Double) {
        var load = [Double](repeating: 0, count: threads)
        var owner = [Int](repeating: 0, count: treeFeatures.count)
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
        featuresByPart = (0..<threads).map { t in treeFeatures.indices.filter { owner[$0] == t }.map { treeFeatures[$0] } }
        parts = featuresByPart.map { features in
            var part = Part(features: features)
            part.dense = features.filter { bitBase[$0] < 0 }
            part.denseOffsets = part.dense.map { bins.slotOffset[$0] * 4 }
            part.wide = features.filter { bitBase[$0] >= 0 }
            part.wideOffsets = part.wide.map { bins.slotOffset[$0] * 4 }
            part.wideBits = part.wide.map { bitBase[$0] }
            return part
        }
        featurePart = [Int](repeating: -1, count: bins.features)
        for (t, fs) in featuresByPart.enumerated() { for f in fs { featurePart[f] = t } }
    }

    /// `features` (a subset of the tree's, ascending ids) split by the part that owns them.
    func byPart(_ features: [Int]) -> [[Int]] {
        if parts.count == 1 { return [features] }
        var out = [[Int]](repeating: [], count: parts.count)
        for f in features { out[featurePart[f]].append(f) }
        return out
    }
}
