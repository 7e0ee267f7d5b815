import CreditCore

/// The oblivious-tree form of a compiled GBDT layout (`GBDTEvaluator.oblivious`), present
/// when every tree is symmetric: complete to its depth, with one test (slot offset, K) shared
/// by all nodes of each level — what `GBDTParameters.treeShape = .oblivious` trains, found
/// from the structure alone (a loss-guided model of stumps qualifies too; its results are
/// the same either way).
///
/// A tree of depth D is then D (offset, K) pairs, and a row's leaf index is the bits of its
/// D compares, root first — the heap layout's leaf order, so leaf values, recorded leaves and
/// the per-leaf attribution table are shared with the general layout. `logits` runs the
/// dispatched kernel `CreditCore.obliviousLogits`: for each tree, 16 rows of the quantized
/// block compare one level at once (one 16-lane UInt16 compare per level), then each row adds
/// its leaf (Double, tree order: the same bits as `GBDTModel.referenceLogit`).
final class GBDTObliviousLevels: @unchecked Sendable {
    let treeCount: Int
    private let depth: UnsafeMutablePointer<Int32>
    private let levelStart: UnsafeMutablePointer<Int32>
    private let levelOffset: UnsafeMutablePointer<UInt32>
    private let levelK: UnsafeMutablePointer<UInt16>
    private let leafStart: UnsafeMutablePointer<Int32>

    /// From the heap layout's arrays (tree t's internal positions `1 ..< 2^D` at
    /// `nodeStart[t] + p`); nil unless every level of every tree has one test.
    init?(depths: [Int32], nodeStart: [Int32], nodeOffset: [UInt32], nodeK: [UInt16], leafStart: [Int32]) {
        var starts: [Int32] = [], offs: [UInt32] = [], ks: [UInt16] = []
        for t in depths.indices {
            let D = Int(depths[t]), ni = Int(nodeStart[t])
            starts.append(Int32(offs.count))
            for l in 0..<D {
                let first = ni + (1 << l)
                let o = nodeOffset[first], k = nodeK[first]
                // Padding (K 0xFFFF: a leaf above depth D) or two tests on one level: not symmetric.
                guard k != 0xFFFF else { return nil }
                for p in (1 << l)..<(2 << l) where nodeOffset[ni + p] != o || nodeK[ni + p] != k { return nil }
                offs.append(o); ks.append(k)
            }
        }
        treeCount = depths.count
        func copy<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(a.count, 1))
            p.initialize(from: a, count: a.count)
            return p
        }
        depth = copy(depths); levelStart = copy(starts); levelOffset = copy(offs); levelK = copy(ks); self.leafStart = copy(leafStart)
    }

    deinit {
        depth.deallocate(); levelStart.deallocate(); levelOffset.deallocate(); levelK.deallocate(); leafStart.deallocate()
    }

    /// `acc[r] += Σ_t leaf value` for the `rows` (≤ the block's rows) rows of the quantized
    /// block `q`, recording leaf indices at `leaves[r · stride + t]`.
    @inline(__always)
    func logits(_ q: UnsafePointer<UInt16>, rows: Int, leafValue: UnsafePointer<Double>, acc: UnsafeMutablePointer<Double>,
                leaves: UnsafeMutablePointer<Int32>, stride: Int) {
        obliviousLogits(q: q, rows: rows, trees: treeCount, depth: depth, levelStart: levelStart, levelOffset: levelOffset,
                        levelK: levelK, leafStart: leafStart, leafValue: leafValue, acc: acc, leaves: leaves, leavesStride: stride)
    }
}
