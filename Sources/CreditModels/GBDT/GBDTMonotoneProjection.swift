/// Monotone leaf values for an oblivious tree by projection (CatBoost's way for symmetric
/// trees, `GBDTParameters.levelScore == .cosine`): the leaf values are pooled until every pair
/// of leaves that must be ordered is in order.
///
/// An oblivious tree of depth D has 2^D leaves, leaf index bit (D − 1 − d) being the side
/// taken at level d. Two leaves must be ordered when they differ only in levels that split on
/// one monotone feature and their ranges of that feature (intersections of the levels' sides)
/// are both non-empty: the one whose range lies higher must not be lower for a rising feature.
/// Leaves that differ in two features follow by transitivity (the leaf between them exists: the
/// tree is complete). A leaf whose range of the feature is empty is reached only by a missing
/// value, which has no order.
///
/// The values approximate the weighted isotonic regression min Σ w_k (v_k − t_k)² under those
/// pairs: the worst violating pair of blocks is pooled (weighted mean) until none is out of
/// order. Pooling only merges blocks, so it ends, and the result always satisfies every pair
/// (at worst one block for the tree). On one chain of leaves this is the pool-adjacent-
/// violators solution (CatBoost orders the leaves of each monotone subtree linearly and runs
/// PAVA; the partial order here asks less of trees with two constrained features).
enum GBDTMonotoneProjection {
    /// A level of the tree: its feature, split bin (bins 0...bin go left), whether it is
    /// categorical, and the feature's monotone sign.
    struct Level {
        var feature: Int
        var bin: Int
        var sign: Int8
        var isCategorical: Bool
    }

    /// The pairs (low, high): leaf `low`'s value must not exceed leaf `high`'s.
    static func orderedPairs(levels: [Level]) -> [(Int, Int)] {
        let depth = levels.count, leaves = 1 << depth
        var pairs: [(Int, Int)] = []
        var seen = Set<Int>()
        for level in levels where level.sign != 0 && !level.isCategorical {
            let f = level.feature
            if !seen.insert(f).inserted { continue }
            // Bits of the levels on f, and each leaf's range of f in bins: [lo, hi].
            var mask = 0
            for (d, l) in levels.enumerated() where l.feature == f && !l.isCategorical { mask |= 1 << (depth - 1 - d) }
            func range(_ k: Int) -> (Int, Int) {
                var lo = Int.min, hi = Int.max
                for (d, l) in levels.enumerated() where l.feature == f && !l.isCategorical {
                    if k >> (depth - 1 - d) & 1 == 1 { lo = max(lo, l.bin + 1) } else { hi = min(hi, l.bin) }
                }
                return (lo, hi)
            }
            for a in 0..<leaves {
                let ra = range(a)
                if ra.0 > ra.1 { continue }
                for b in (a + 1)..<leaves where (a ^ b) & ~mask == 0 {
                    let rb = range(b)
                    if rb.0 > rb.1 { continue }
                    let aBelow = ra.1 < rb.0
                    pairs.append(aBelow == (level.sign > 0) ? (a, b) : (b, a))
                }
            }
        }
        return pairs
    }

    /// Values for targets `t` (weights `w` > 0) with v[low] <= v[high] for every pair.
    static func project(targets t: [Double], weights w: [Double], pairs: [(Int, Int)]) -> [Double] {
        let n = t.count
        guard !pairs.isEmpty else { return t }
        var block = Array(0..<n)                  // each leaf's block, by a representative leaf
        var size = [Int](repeating: 1, count: n)
        var sumW = w, sumWT = zip(w, t).map { $0 * $1 }
        func find(_ k: Int) -> Int { var k = k; while block[k] != k { block[k] = block[block[k]]; k = block[k] }; return k }
        func value(_ r: Int) -> Double { sumWT[r] / sumW[r] }
        while true {
            var worst = 0.0, wa = -1, wb = -1
            for (a, b) in pairs {
                let ra = find(a), rb = find(b)
                if ra == rb { continue }
                let gap = value(ra) - value(rb)
                if gap > worst { worst = gap; wa = ra; wb = rb }
            }
            if wa < 0 { break }
            block[wb] = wa
            sumW[wa] += sumW[wb]; sumWT[wa] += sumWT[wb]; size[wa] += size[wb]
        }
        // A leaf never pooled keeps its target bit for bit.
        return (0..<n).map { k in size[find(k)] == 1 ? t[k] : value(find(k)) }
    }
}
