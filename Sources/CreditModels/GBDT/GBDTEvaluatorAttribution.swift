// Path attributions (reason codes) on the compiled layout: the per-leaf attribution table
// built at load, and `contributions` of one row.
import CreditCore

extension GBDTEvaluator {
    /// The largest per-leaf attribution table built (bytes); larger models add along the paths.
    static let maxAttributionBytes = 32 << 20

    /// One row of `stride` Doubles per leaf position (trees in order, `2^D` leaves each): the
    /// leaf's path attributions, i.e. for each step of the root-to-leaf path (root first) the
    /// step's `nodeMean[child] − nodeMean[node]` added to the node's column — the adds of the
    /// node-array walk, so each row telescopes to `value[leaf] − nodeMean[root]`. Padding
    /// steps (sink columns ≥ `width`) add nothing. Nil when the table is too large.
    static func leafAttributions(width: Int, stride: Int, depths: [Int32], nodeStart: [Int32], allStart: [Int32],
                                 nodeFeature: [Int32], delta: [Double], leafCount: Int) -> [Double]? {
        guard stride > 0, leafCount <= maxAttributionBytes / (stride * 8) else { return nil }
        var table = [Double](repeating: 0, count: leafCount * stride)
        var row = 0
        for t in depths.indices {
            let D = Int(depths[t]), top = 1 << D
            let ni = Int(nodeStart[t]), ai = Int(allStart[t])
            for leaf in 0..<top {
                let pos = top + leaf
                for l in 0..<D {
                    let col = Int(nodeFeature[ni + (pos >> (D - l))])
                    if col < width { table[row * stride + col] += delta[ai + (pos >> (D - l - 1))] }
                }
                row += 1
            }
        }
        return table
    }

    /// Path attributions of one row into `phi` (`inputWidth + sinkColumns` Doubles; the columns
    /// past `inputWidth` are scratch). `known`: the row's leaves recorded by `logits` (then no
    /// walk), or nil. With the leaf table (`pathWalk` false) the row's leaves' rows are summed
    /// (`leafRowSum`; equal to the path adds up to Double rounding); otherwise, or with
    /// `pathWalk`, the path adds run in the node-array walk's order (same bits as the walk).
    func contributions(_ row: UnsafePointer<Float>, phi: UnsafeMutablePointer<Double>,
                       q: UnsafeMutablePointer<UInt16>, leafIdx work: UnsafeMutablePointer<Int32>, known: UnsafePointer<Int32>?,
                       pathWalk: Bool = false) {
        let leafIdx: UnsafePointer<Int32>
        if let known { leafIdx = known } else {
            quantize(row, q)
            leaves(UnsafePointer(q), work)
            leafIdx = UnsafePointer(work)
        }
        if let table = leafAttr, !pathWalk {
            leafRowSum(table, stride: attrStride, base: treeLeaf, offset: leafIdx, count: treeCount, phi)
            return
        }
        for i in 0..<(inputWidth + GBDTEvaluator.sinkColumns) { phi[i] = 0 }
        for t in 0..<treeCount {
            let D = Int(treeDepth[t])
            let nf = nodeFeature + Int(treeNode[t]), dl = delta + Int(treeAll[t])
            let leaf = Int(leafIdx[t])
            // A constant depth per case turns the shifts into constants and unrolls the path.
            switch D {
            case 1: GBDTEvaluator.pathAdds(1, leaf, nf, dl, phi)
            case 2: GBDTEvaluator.pathAdds(2, leaf, nf, dl, phi)
            case 3: GBDTEvaluator.pathAdds(3, leaf, nf, dl, phi)
            case 4: GBDTEvaluator.pathAdds(4, leaf, nf, dl, phi)
            case 5: GBDTEvaluator.pathAdds(5, leaf, nf, dl, phi)
            case 6: GBDTEvaluator.pathAdds(6, leaf, nf, dl, phi)
            case 7: GBDTEvaluator.pathAdds(7, leaf, nf, dl, phi)
            case 8: GBDTEvaluator.pathAdds(8, leaf, nf, dl, phi)
            default: GBDTEvaluator.pathAdds(D, leaf, nf, dl, phi)
            }
        }
    }

    /// One tree's path attribution adds, root first: the path's node at level l is the leaf
    /// position's top l+1 bits (1-based heap), its child the top l+2 bits.
    @inline(__always)
    private static func pathAdds(_ D: Int, _ leaf: Int, _ nf: UnsafeMutablePointer<Int32>, _ dl: UnsafeMutablePointer<Double>,
                                 _ phi: UnsafeMutablePointer<Double>) {
        let leafPos = (1 &<< D) &+ leaf
        var l = 0
        while l < D {
            phi[Int(nf[leafPos &>> (D &- l)])] += dl[leafPos &>> (D &- l &- 1)]
            l &+= 1
        }
    }
}
