// The tree-evaluation kernel BODIES, compiled twice from this one file like
// DenseKernelBodies.swift (same rules: raw pointers and Ints only, `package` `@inline(never)`
// entry points, no types or generics of its own; Sources/CreditCoreHaswell/TreeKernelBodies.swift
// is a symlink to this file, compiled for AVX2). TreeKernels.swift checks the arguments,
// holds the scalar references and dispatches on `Kernels.variant`. No multiply-adds here, so
// both copies give the same bits as the references.

@inline(__always)
private func tLoad4(_ p: UnsafePointer<Double>, _ i: Int) -> SIMD4<Double> {
    UnsafeRawPointer(p).loadUnaligned(fromByteOffset: i &* 8, as: SIMD4<Double>.self)
}

@inline(__always)
private func tStore4(_ v: SIMD4<Double>, _ p: UnsafeMutablePointer<Double>, _ i: Int) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, toByteOffset: i &* 8, as: SIMD4<Double>.self)
}

/// Column `col` of row `base[t] + offset[t]`.
@inline(__always)
private func tRow(_ table: UnsafePointer<Double>, _ stride: Int, _ base: UnsafePointer<Int32>, _ offset: UnsafePointer<Int32>,
                  _ t: Int, _ col: Int) -> UnsafePointer<Double> {
    let row: Int = Int(base[t]) &+ Int(offset[t])
    let at: Int = row &* stride &+ col
    return table + at
}

/// Columns `col ..< col + 4·chunks` of the leaf-row sum: even rows into one accumulator set,
/// odd rows into another (two add chains), then even + odd.
@inline(__always)
private func leafRowSumGroup(_ table: UnsafePointer<Double>, _ stride: Int, _ base: UnsafePointer<Int32>,
                             _ offset: UnsafePointer<Int32>, _ count: Int, _ out: UnsafeMutablePointer<Double>,
                             _ col: Int, _ chunks: Int) {
    var e0 = SIMD4<Double>(), e1 = SIMD4<Double>(), e2 = SIMD4<Double>(), e3 = SIMD4<Double>()
    var o0 = SIMD4<Double>(), o1 = SIMD4<Double>(), o2 = SIMD4<Double>(), o3 = SIMD4<Double>()
    var t = 0
    while t &+ 1 < count {
        let p = tRow(table, stride, base, offset, t, col), q = tRow(table, stride, base, offset, t &+ 1, col)
        e0 += tLoad4(p, 0); o0 += tLoad4(q, 0)
        if chunks > 1 { e1 += tLoad4(p, 4); o1 += tLoad4(q, 4) }
        if chunks > 2 { e2 += tLoad4(p, 8); o2 += tLoad4(q, 8) }
        if chunks > 3 { e3 += tLoad4(p, 12); o3 += tLoad4(q, 12) }
        t &+= 2
    }
    if t < count {
        let p = tRow(table, stride, base, offset, t, col)
        e0 += tLoad4(p, 0)
        if chunks > 1 { e1 += tLoad4(p, 4) }
        if chunks > 2 { e2 += tLoad4(p, 8) }
        if chunks > 3 { e3 += tLoad4(p, 12) }
    }
    tStore4(e0 + o0, out, col)
    if chunks > 1 { tStore4(e1 + o1, out, col &+ 4) }
    if chunks > 2 { tStore4(e2 + o2, out, col &+ 8) }
    if chunks > 3 { tStore4(e3 + o3, out, col &+ 12) }
}

/// Body of `leafRowSum`: `out[0 ..< stride] = Σ_t table[(base[t] + offset[t]) · stride ..< +stride]`
/// (`stride` a multiple of 4), each column summed as (Σ even t) + (Σ odd t) in t order.
@inline(never)
package func leafRowSumKernel(_ table: UnsafePointer<Double>, stride: Int, base: UnsafePointer<Int32>,
                              offset: UnsafePointer<Int32>, count: Int, _ out: UnsafeMutablePointer<Double>) {
    var col = 0
    while col < stride {
        switch (stride &- col) &>> 2 {
        case 1: leafRowSumGroup(table, stride, base, offset, count, out, col, 1); col &+= 4
        case 2: leafRowSumGroup(table, stride, base, offset, count, out, col, 2); col &+= 8
        case 3: leafRowSumGroup(table, stride, base, offset, count, out, col, 3); col &+= 12
        default: leafRowSumGroup(table, stride, base, offset, count, out, col, 4); col &+= 16
        }
    }
}

@inline(__always)
private func tLoad16(_ p: UnsafePointer<UInt16>) -> SIMD16<UInt16> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt16>.self)
}

/// Body of `obliviousLogits`: for each tree (in order), 16 rows at a time build their leaf
/// index from one unsigned compare per level (`q[levelOffset + row] > levelK`, root bit
/// first), then each valid row adds the leaf's value to `acc[row]` and records the index.
/// Trees go in chunks of 16 across all the rows, so the recorded indices of a row (one
/// 64-byte line per chunk) are written while their lines are in L1. One row keeps its sum in
/// a register (scalar compares).
@inline(never)
package func obliviousLogitsKernel(q: UnsafePointer<UInt16>, rows: Int, trees: Int, depth: UnsafePointer<Int32>,
                                   levelStart: UnsafePointer<Int32>, levelOffset: UnsafePointer<UInt32>,
                                   levelK: UnsafePointer<UInt16>, leafStart: UnsafePointer<Int32>,
                                   leafValue: UnsafePointer<Double>, acc: UnsafeMutablePointer<Double>,
                                   leaves: UnsafeMutablePointer<Int32>, leavesStride: Int) {
    if rows == 1 {
        var sum = acc[0]
        for t in 0..<trees {
            let ls = Int(levelStart[t])
            var i = 0, l = 0
            while l < Int(depth[t]) {
                let k: Int = ls &+ l
                i = i &+ i &+ (q[Int(levelOffset[k])] > levelK[k] ? 1 : 0)
                l &+= 1
            }
            sum += leafValue[Int(leafStart[t]) &+ i]
            leaves[t] = Int32(truncatingIfNeeded: i)
        }
        acc[0] = sum
        return
    }
    let one = SIMD16<UInt16>(repeating: 1)
    var t0 = 0
    while t0 < trees {
        let t1 = min(trees, t0 &+ 16)
        var g = 0
        while g < rows {
            let n = min(16, rows &- g)
            let a = acc + g
            for t in t0..<t1 {
                let D = Int(depth[t]), ls = Int(levelStart[t])
                let lv = leafValue + Int(leafStart[t])
                let lo = levelOffset + ls, lk = levelK + ls
                var idx = SIMD16<UInt16>()
                var l = 0
                while l < D {
                    let at: Int = Int(lo[l]) &+ g
                    let v = tLoad16(q + at)
                    let k = SIMD16<UInt16>(repeating: lk[l])
                    let shifted = idx &<< 1
                    idx = shifted.replacing(with: shifted | one, where: v .> k)
                    l &+= 1
                }
                let outAt: Int = g &* leavesStride &+ t
                let out = leaves + outAt
                if n == 16 {
                    // Unrolled: independent adds to 16 rows.
                    for j in 0..<16 {
                        let i = Int(idx[j])
                        a[j] += lv[i]
                        out[j &* leavesStride] = Int32(truncatingIfNeeded: i)
                    }
                } else {
                    for j in 0..<n {
                        let i = Int(idx[j])
                        a[j] += lv[i]
                        out[j &* leavesStride] = Int32(truncatingIfNeeded: i)
                    }
                }
            }
            g &+= 16
        }
        t0 = t1
    }
}

/// What `heapTreeLeaves` does at each heap position (`heapNodeKinds`, TreeKernels.swift).
let heapCompare: UInt8 = 0, heapZero: UInt8 = 1, heapSkip: UInt8 = 2


@inline(__always)
private func tWork(_ w: UnsafeMutableRawPointer, _ i: Int) -> SIMD16<UInt16> {
    UnsafeRawPointer(w).loadUnaligned(fromByteOffset: i &* 32, as: SIMD16<UInt16>.self)
}

@inline(__always)
private func tSetWork(_ w: UnsafeMutableRawPointer, _ i: Int, _ v: SIMD16<UInt16>) {
    w.storeBytes(of: v, toByteOffset: i &* 32, as: SIMD16<UInt16>.self)
}

/// Leaf indices of one heap tree of depth `D ≥ 1` for rows `g ..< g + 16` (and, with `pair`,
/// `g + 16 ..< g + 32`), bottom-up: every internal position is compared for all the rows
/// (one 16-lane compare each, no per-row path), a deepest node's index in its subtree is its
/// bit (the two deepest levels are done together), and a node above takes its left child's
/// index or `half | right child's index`. The
/// root's is the leaf index `i − 2^D` of the top-down walk. `work` holds the level below,
/// in place: vectors `2j` (rows g…) and `2j + 1` (rows g + 16…) for position j of the level;
/// the root's indices end in vectors 0 and 1.
///
/// `kd` (`heapNodeKinds`) skips padding: a position whose index is 0 by construction (always
/// left down to the leaves) stores 0 without a compare, and what lies below it is not
/// visited (nothing reads it). The anchor model's trees are ~45 % padding.
@inline(__always)
private func heapTreeLeaves(_ q: UnsafePointer<UInt16>, _ g: Int, _ D: Int, _ no: UnsafePointer<UInt32>,
                            _ nk: UnsafePointer<UInt16>, _ kd: UnsafePointer<UInt8>, _ work: UnsafeMutableRawPointer, _ pair: Bool) {
    let zero = SIMD16<UInt16>(), one = SIMD16<UInt16>(repeating: 1)
    let bottom = 1 &<< (D &- 1)
    var j = 0
    var n: Int, half: UInt16
    @inline(__always) func zeroed(_ j: Int) {
        tSetWork(work, j &<< 1, zero)
        if pair { tSetWork(work, (j &<< 1) | 1, zero) }
    }
    if D == 1 {
        let at: Int = Int(no[1]) &+ g
        let k = SIMD16<UInt16>(repeating: nk[1])
        tSetWork(work, 0, zero.replacing(with: one, where: tLoad16(q + at) .> k))
        if pair { tSetWork(work, 1, zero.replacing(with: one, where: tLoad16(q + (at &+ 16)) .> k)) }
        n = 0; half = 2
    } else {
        // The two deepest levels at once: a node's index in its 4 leaves is its left child's
        // bit, or 2 | its right child's bit (the bits never go through `work`; ~10 % faster).
        let two = SIMD16<UInt16>(repeating: 2), three = SIMD16<UInt16>(repeating: 3)
        let above = bottom &>> 1
        while j < above {
            let p: Int = above &+ j, l: Int = p &<< 1, r: Int = l | 1
            if kd[p] != heapCompare {
                if kd[p] == heapZero { zeroed(j) }
                j &+= 1
                continue
            }
            let ap: Int = Int(no[p]) &+ g, al: Int = Int(no[l]) &+ g, ar: Int = Int(no[r]) &+ g
            let kp = SIMD16<UInt16>(repeating: nk[p]), kl = SIMD16<UInt16>(repeating: nk[l]), kr = SIMD16<UInt16>(repeating: nk[r])
            let a = zero.replacing(with: one, where: tLoad16(q + al) .> kl)
                .replacing(with: two.replacing(with: three, where: tLoad16(q + ar) .> kr), where: tLoad16(q + ap) .> kp)
            tSetWork(work, j &<< 1, a)
            if pair {
                let b = zero.replacing(with: one, where: tLoad16(q + (al &+ 16)) .> kl)
                    .replacing(with: two.replacing(with: three, where: tLoad16(q + (ar &+ 16)) .> kr), where: tLoad16(q + (ap &+ 16)) .> kp)
                tSetWork(work, (j &<< 1) | 1, b)
            }
            j &+= 1
        }
        n = above &>> 1; half = 4
    }
    while n > 0 {
        let h = SIMD16<UInt16>(repeating: half)
        j = 0
        while j < n {
            let p: Int = n &+ j
            if kd[p] != heapCompare {
                if kd[p] == heapZero { zeroed(j) }
                j &+= 1
                continue
            }
            let at: Int = Int(no[p]) &+ g
            let k = SIMD16<UInt16>(repeating: nk[p])
            let left: Int = j &<< 2, right: Int = (j &<< 2) | 2
            let a = tWork(work, left).replacing(with: tWork(work, right) | h, where: tLoad16(q + at) .> k)
            tSetWork(work, j &<< 1, a)
            if pair {
                let b = tWork(work, left | 1).replacing(with: tWork(work, right | 1) | h, where: tLoad16(q + (at &+ 16)) .> k)
                tSetWork(work, (j &<< 1) | 1, b)
            }
            j &+= 1
        }
        n &>>= 1
        half &<<= 1
    }
}

/// Body of `heapLogits`: trees in chunks of 4 (their nodes stay in L1), 32 rows at a time
/// get their leaf indices from `heapTreeLeaves` (every node compared for all rows at once,
/// SIMD across rows) into `work`'s first 256 bytes; then each valid row adds its 4 leaves'
/// values to its sum (Double, tree order: one load and store of `acc` per 4 trees) and
/// records the indices. The levels' buffer follows at `work + 256`.
@inline(never)
package func heapLogitsKernel(q: UnsafePointer<UInt16>, rows: Int, trees: Int, depth: UnsafePointer<Int32>,
                              nodeStart: UnsafePointer<Int32>, nodeOffset: UnsafePointer<UInt32>, nodeK: UnsafePointer<UInt16>,
                              nodeKind: UnsafePointer<UInt8>,
                              leafStart: UnsafePointer<Int32>, leafValue: UnsafePointer<Double>, acc: UnsafeMutablePointer<Double>,
                              leaves: UnsafeMutablePointer<Int32>, leavesStride: Int, work: UnsafeMutableRawPointer) {
    let stash = work, levels = work + 256
    var t0 = 0
    while t0 < trees {
        let c = min(4, trees &- t0)
        var g = 0
        while g < rows {
            let n = min(32, rows &- g)
            for k in 0..<c {
                let t: Int = t0 &+ k
                let D = Int(depth[t])
                let ns = Int(nodeStart[t])
                if D == 0 {
                    tSetWork(stash, k &<< 1, SIMD16<UInt16>()); tSetWork(stash, (k &<< 1) | 1, SIMD16<UInt16>())
                    continue
                }
                heapTreeLeaves(q, g, D, nodeOffset + ns, nodeK + ns, nodeKind + ns, levels, n > 16)
                tSetWork(stash, k &<< 1, tWork(levels, 0))
                if n > 16 { tSetWork(stash, (k &<< 1) | 1, tWork(levels, 1)) }
            }
            let a = acc + g
            let rowAt: Int = g &* leavesStride &+ t0
            let out = leaves + rowAt
            let idx = UnsafeRawPointer(stash)
            if c == 4 {
                let lv0 = leafValue + Int(leafStart[t0]), lv1 = leafValue + Int(leafStart[t0 &+ 1])
                let lv2 = leafValue + Int(leafStart[t0 &+ 2]), lv3 = leafValue + Int(leafStart[t0 &+ 3])
                for j in 0..<n {
                    let i0 = Int(idx.load(fromByteOffset: j &* 2, as: UInt16.self))
                    let i1 = Int(idx.load(fromByteOffset: 64 &+ j &* 2, as: UInt16.self))
                    let i2 = Int(idx.load(fromByteOffset: 128 &+ j &* 2, as: UInt16.self))
                    let i3 = Int(idx.load(fromByteOffset: 192 &+ j &* 2, as: UInt16.self))
                    var sum = a[j]
                    sum += lv0[i0]; sum += lv1[i1]; sum += lv2[i2]; sum += lv3[i3]
                    a[j] = sum
                    let o = out + j &* leavesStride
                    o[0] = Int32(truncatingIfNeeded: i0); o[1] = Int32(truncatingIfNeeded: i1)
                    o[2] = Int32(truncatingIfNeeded: i2); o[3] = Int32(truncatingIfNeeded: i3)
                }
            } else {
                for j in 0..<n {
                    var sum = a[j]
                    let o = out + j &* leavesStride
                    for k in 0..<c {
                        let i = Int(idx.load(fromByteOffset: k &* 64 &+ j &* 2, as: UInt16.self))
                        sum += leafValue[Int(leafStart[t0 &+ k]) &+ i]
                        o[k] = Int32(truncatingIfNeeded: i)
                    }
                    a[j] = sum
                }
            }
            g &+= 32
        }
        t0 &+= c
    }
}

/// Body of `maskBits`: `q[k · stride + r] = bits[r] & masks[k] != 0 ? 1 : 0`, 16 rows at a
/// time (the rows' bits stay in registers across the masks), a scalar tail.
@inline(never)
package func maskBitsKernel(_ bits: UnsafePointer<UInt16>, rows: Int, masks: UnsafePointer<UInt16>, count: Int,
                            _ q: UnsafeMutablePointer<UInt16>, stride: Int) {
    let zero = SIMD16<UInt16>(), one = SIMD16<UInt16>(repeating: 1)
    var r = 0
    while r &+ 16 <= rows {
        let b = tLoad16(bits + r)
        for k in 0..<count {
            let m = SIMD16<UInt16>(repeating: masks[k])
            let at: Int = k &* stride &+ r
            UnsafeMutableRawPointer(q + at).storeBytes(of: one.replacing(with: zero, where: (b & m) .== zero), as: SIMD16<UInt16>.self)
        }
        r &+= 16
    }
    while r < rows {
        let b = bits[r]
        for k in 0..<count {
            let at: Int = k &* stride &+ r
            q[at] = b & masks[k] != 0 ? 1 : 0
        }
        r &+= 1
    }
}
