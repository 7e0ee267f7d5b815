// Tree-model kernels (bodies in TreeKernelBodies.swift, compiled portable and for AVX2) with
// their argument checks, scalar references and run-time dispatch (`Kernels.variant`).
import CreditCoreHaswell

/// Sum of selected rows of a Double table: `out[0 ..< stride] = Σ_{t < count}
/// table[(base[t] + offset[t]) · stride ..< +stride]`. GBDT reason codes use it: row
/// `base[t] + offset[t]` is tree t's reached leaf, whose row holds that leaf's path
/// attributions per input column (`GBDTEvaluator`). `stride` must be a multiple of 4. Each
/// column is summed as (Σ over even t) + (Σ over odd t), both in t order, by every copy and
/// by `leafRowSumReference`, so all three give the same bits. Allocates nothing.
public func leafRowSum(_ table: UnsafePointer<Double>, stride: Int, base: UnsafePointer<Int32>,
                       offset: UnsafePointer<Int32>, count: Int, _ out: UnsafeMutablePointer<Double>,
                       variant: KernelVariant = Kernels.variant) {
    precondition(stride > 0 && stride % 4 == 0 && count >= 0, "leafRowSum: stride \(stride) must be a positive multiple of 4")
    precondition(Kernels.isAvailable(variant), "leafRowSum: kernel variant \(variant) is not available on this CPU")
    switch variant {
    case .portable: CreditCore.leafRowSumKernel(table, stride: stride, base: base, offset: offset, count: count, out)
    case .haswell: CreditCoreHaswell.leafRowSumKernel(table, stride: stride, base: base, offset: offset, count: count, out)
    }
}

/// Scalar reference of `leafRowSum` (same association: even rows, odd rows, then their sum).
public func leafRowSumReference(_ table: UnsafePointer<Double>, stride: Int, base: UnsafePointer<Int32>,
                                offset: UnsafePointer<Int32>, count: Int, _ out: UnsafeMutablePointer<Double>) {
    for c in 0..<stride {
        var even = 0.0, odd = 0.0
        for t in 0..<count {
            let v = table[(Int(base[t]) + Int(offset[t])) * stride + c]
            if t % 2 == 0 { even += v } else { odd += v }
        }
        out[c] = even + odd
    }
}

/// Logits of oblivious (symmetric) trees over a quantized block (`GBDTEvaluator`'s layout):
/// row r's slot s is `q[s · stride + r]` (UInt16), and level l of tree t tests
/// `q[levelOffset[levelStart[t] + l] + r] > levelK[levelStart[t] + l]` (true: right; the
/// offset already includes `s · stride`). The leaf index is the tests' bits, root first
/// (`i = 2i + bit`, `depth[t]` levels; depth 0: leaf 0). For each tree in order, every row
/// `r < rows` gets `acc[r] += leafValue[leafStart[t] + i]` (Double, tree order) and
/// `leaves[r · leavesStride + t] = i`. Rows go 16 at a time: the kernel reads `q` up to
/// `rows` rounded up to 16 at every tested offset, so that much must be readable (a block
/// of 64 rows is). Same bits from every copy and `obliviousLogitsReference`. Allocates nothing.
public func obliviousLogits(q: UnsafePointer<UInt16>, rows: Int, trees: Int, depth: UnsafePointer<Int32>,
                            levelStart: UnsafePointer<Int32>, levelOffset: UnsafePointer<UInt32>, levelK: UnsafePointer<UInt16>,
                            leafStart: UnsafePointer<Int32>, leafValue: UnsafePointer<Double>, acc: UnsafeMutablePointer<Double>,
                            leaves: UnsafeMutablePointer<Int32>, leavesStride: Int, variant: KernelVariant = Kernels.variant) {
    precondition(rows >= 0 && trees >= 0 && leavesStride >= (rows > 1 ? trees : 0), "obliviousLogits: bad shape")
    precondition(Kernels.isAvailable(variant), "obliviousLogits: kernel variant \(variant) is not available on this CPU")
    switch variant {
    case .portable:
        CreditCore.obliviousLogitsKernel(q: q, rows: rows, trees: trees, depth: depth, levelStart: levelStart, levelOffset: levelOffset,
                                         levelK: levelK, leafStart: leafStart, leafValue: leafValue, acc: acc,
                                         leaves: leaves, leavesStride: leavesStride)
    case .haswell:
        CreditCoreHaswell.obliviousLogitsKernel(q: q, rows: rows, trees: trees, depth: depth, levelStart: levelStart, levelOffset: levelOffset,
                                                levelK: levelK, leafStart: leafStart, leafValue: leafValue, acc: acc,
                                                leaves: leaves, leavesStride: leavesStride)
    }
}

/// Scalar reference of `obliviousLogits` (row by row; the same Double adds per row in tree order).
public func obliviousLogitsReference(q: UnsafePointer<UInt16>, rows: Int, trees: Int, depth: UnsafePointer<Int32>,
                                     levelStart: UnsafePointer<Int32>, levelOffset: UnsafePointer<UInt32>, levelK: UnsafePointer<UInt16>,
                                     leafStart: UnsafePointer<Int32>, leafValue: UnsafePointer<Double>, acc: UnsafeMutablePointer<Double>,
                                     leaves: UnsafeMutablePointer<Int32>, leavesStride: Int) {
    for r in 0..<rows {
        for t in 0..<trees {
            var i = 0
            for l in 0..<Int(depth[t]) {
                let k = Int(levelStart[t]) + l
                i = 2 * i + (q[Int(levelOffset[k]) + r] > levelK[k] ? 1 : 0)
            }
            acc[r] += leafValue[Int(leafStart[t]) + i]
            leaves[r * leavesStride + t] = Int32(i)
        }
    }
}

/// Bytes of the `work` buffer `heapLogits` needs for trees of depth ≤ `maxDepth`.
public func heapLogitsWorkBytes(maxDepth: Int) -> Int { 256 + (32 << max(maxDepth, 1)) }

/// Logits of complete binary trees in 1-based heap order over a quantized block
/// (`GBDTEvaluator`'s loss-guided layout): row r's slot s is `q[s · stride + r]` (UInt16);
/// tree t of depth `D = depth[t]` has internal positions `p` in `1 ..< 2^D` at
/// `nodeStart[t] + p`, each testing `q[nodeOffset[·] + r] > nodeK[·]` (true: right child
/// `2p + 1`, else `2p`; the offset already includes `s · stride`), and its leaf index is
/// `i − 2^D` after `D` steps from `i = 1`. For each tree in order, every row `r < rows` gets
/// `acc[r] += leafValue[leafStart[t] + leaf]` (Double, tree order) and
/// `leaves[r · leavesStride + t] = leaf`. Rows go 32 at a time and every internal position
/// is compared for all of them (SIMD across rows, no per-row walk), so `q` must be readable
/// up to `rows` rounded up to 32 at every offset (a block of 64 rows is). `work`:
/// `heapLogitsWorkBytes(maxDepth:)` bytes. `nodeKind` (same layout as `nodeK`, from
/// `heapNodeKinds`) lets the kernel skip padding. Same bits from every copy and
/// `heapLogitsReference`. Allocates nothing.
public func heapLogits(q: UnsafePointer<UInt16>, rows: Int, trees: Int, depth: UnsafePointer<Int32>,
                       nodeStart: UnsafePointer<Int32>, nodeOffset: UnsafePointer<UInt32>, nodeK: UnsafePointer<UInt16>,
                       nodeKind: UnsafePointer<UInt8>, leafStart: UnsafePointer<Int32>, leafValue: UnsafePointer<Double>, acc: UnsafeMutablePointer<Double>,
                       leaves: UnsafeMutablePointer<Int32>, leavesStride: Int, work: UnsafeMutableRawPointer, workBytes: Int,
                       variant: KernelVariant = Kernels.variant) {
    precondition(rows >= 0 && trees >= 0 && leavesStride >= (rows > 1 ? trees : 0), "heapLogits: bad shape")
    var maxDepth = 0
    for t in 0..<trees { maxDepth = max(maxDepth, Int(depth[t])) }
    precondition(maxDepth <= 16 && workBytes >= heapLogitsWorkBytes(maxDepth: maxDepth),
                 "heapLogits: \(workBytes) work bytes for trees of depth \(maxDepth)")
    precondition(Kernels.isAvailable(variant), "heapLogits: kernel variant \(variant) is not available on this CPU")
    switch variant {
    case .portable:
        CreditCore.heapLogitsKernel(q: q, rows: rows, trees: trees, depth: depth, nodeStart: nodeStart, nodeOffset: nodeOffset,
                                    nodeK: nodeK, nodeKind: nodeKind, leafStart: leafStart, leafValue: leafValue, acc: acc, leaves: leaves,
                                    leavesStride: leavesStride, work: work)
    case .haswell:
        CreditCoreHaswell.heapLogitsKernel(q: q, rows: rows, trees: trees, depth: depth, nodeStart: nodeStart, nodeOffset: nodeOffset,
                                           nodeK: nodeK, nodeKind: nodeKind, leafStart: leafStart, leafValue: leafValue, acc: acc, leaves: leaves,
                                           leavesStride: leavesStride, work: work)
    }
}

/// `heapLogits`' `nodeKind` for trees laid out like its `nodeK` (`nodeStart`, `depth`): which
/// positions are padding whose index is 0 by construction (always left down to the leaves),
/// so the kernel stores 0 there and does not visit what lies below.
public func heapNodeKinds(nodeK: UnsafePointer<UInt16>, count: Int, trees: Int, depth: UnsafePointer<Int32>,
                          nodeStart: UnsafePointer<Int32>) -> [UInt8] {
    var kinds = [UInt8](repeating: 0, count: count)
    kinds.withUnsafeMutableBufferPointer { k in
        for t in 0..<trees {
            let ns = Int(nodeStart[t]), D = Int(depth[t])
            precondition(D <= 16 && ns >= 0 && ns + (D > 0 ? 1 << D : 1) <= count, "heapNodeKinds: tree \(t) outside the nodes")
            heapNodeKinds(nodeK: nodeK + ns, depth: D, into: k.baseAddress! + ns)
        }
    }
    return kinds
}

/// The kinds of one tree's positions `1 ..< 2^D` (`kinds[0]` unused): a position whose
/// index in its subtree is 0 whatever the row (`K = 0xFFFF`, always left, and so is its left
/// child unless it is on the deepest internal level) is `heapZero`; everything below a
/// non-comparing position is `heapSkip`; the rest compare.
private func heapNodeKinds(nodeK nk: UnsafePointer<UInt16>, depth D: Int, into kinds: UnsafeMutablePointer<UInt8>) {
    guard D > 0 else { return }
    let count = 1 << D, deepest = count >> 1
    var p = count - 1
    while p >= 1 {   // bottom-up: zero when always left and the left child is zero (or a leaf)
        kinds[p] = nk[p] == 0xFFFF && (p >= deepest || kinds[2 * p] == heapZero) ? heapZero : heapCompare
        p -= 1
    }
    for p in 2..<max(count, 2) where kinds[p >> 1] != heapCompare { kinds[p] = heapSkip }   // top-down
}

/// Scalar reference of `heapLogits` (row by row, top-down walks; the same Double adds per
/// row in tree order).
public func heapLogitsReference(q: UnsafePointer<UInt16>, rows: Int, trees: Int, depth: UnsafePointer<Int32>,
                                nodeStart: UnsafePointer<Int32>, nodeOffset: UnsafePointer<UInt32>, nodeK: UnsafePointer<UInt16>,
                                leafStart: UnsafePointer<Int32>, leafValue: UnsafePointer<Double>, acc: UnsafeMutablePointer<Double>,
                                leaves: UnsafeMutablePointer<Int32>, leavesStride: Int) {
    for r in 0..<rows {
        for t in 0..<trees {
            let D = Int(depth[t]), ns = Int(nodeStart[t])
            var i = 1
            for _ in 0..<D { i = 2 * i + (q[Int(nodeOffset[ns + i]) + r] > nodeK[ns + i] ? 1 : 0) }
            let leaf = i - (1 << D)
            acc[r] += leafValue[Int(leafStart[t]) + leaf]
            leaves[r * leavesStride + t] = Int32(leaf)
        }
    }
}

/// Set-membership bits of many masks for many rows: `q[k · stride + r] = 1` when
/// `bits[r] & masks[k] != 0`, else 0, for `k < count`, `r < rows` (nothing else written).
/// GBDT quantization uses it for a categorical feature of at most 16 codes: `bits[r]` is
/// `1 << code` of row r and `masks[k]` the codes one categorical test sends right, so a block
/// of rows gets all of the feature's test slots at once. Allocates nothing.
public func maskBits(_ bits: UnsafePointer<UInt16>, rows: Int, masks: UnsafePointer<UInt16>, count: Int,
                     _ q: UnsafeMutablePointer<UInt16>, stride: Int, variant: KernelVariant = Kernels.variant) {
    precondition(rows >= 0 && count >= 0 && (count <= 1 || stride >= rows), "maskBits: bad shape")
    precondition(Kernels.isAvailable(variant), "maskBits: kernel variant \(variant) is not available on this CPU")
    switch variant {
    case .portable: CreditCore.maskBitsKernel(bits, rows: rows, masks: masks, count: count, q, stride: stride)
    case .haswell: CreditCoreHaswell.maskBitsKernel(bits, rows: rows, masks: masks, count: count, q, stride: stride)
    }
}

/// Scalar reference of `maskBits`.
public func maskBitsReference(_ bits: UnsafePointer<UInt16>, rows: Int, masks: UnsafePointer<UInt16>, count: Int,
                              _ q: UnsafeMutablePointer<UInt16>, stride: Int) {
    for k in 0..<count {
        for r in 0..<rows { q[k * stride + r] = bits[r] & masks[k] != 0 ? 1 : 0 }
    }
}
