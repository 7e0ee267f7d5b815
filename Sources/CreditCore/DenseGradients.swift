// Training kernels for dense layers. The input gradient `dIn = dOut · Wᵀ` reuses
// `denseForward` with `W.transposed()` (see `PackedMatrix.transpose(into:)`).

/// Weight gradient: `gradient[i, j] += Σ_{r in rows} in[r, i] · dOut[r, j]` (`gradient` has the
/// layer's packed shape `k × n`; its zero padding stays zero).
///
/// Blocking: per 16-column panel, 4 input columns × 16 output columns of accumulators
/// (eight `SIMD8<Float>`) over all rows, then added into `gradient`. Allocates nothing.
/// `denseWeightGradientReference` is the scalar reference.
public func denseWeightGradient(
    _ input: UnsafeBufferPointer<Float>, inputStride: Int,
    _ dOut: UnsafeBufferPointer<Float>, dOutStride: Int,
    gradient: inout PackedMatrix, rows: Range<Int>
) {
    let k = gradient.k, n = gradient.n
    precondition(inputStride >= k && dOutStride >= n, "denseWeightGradient: strides \(inputStride)/\(dOutStride) for \(k)x\(n)")
    guard !rows.isEmpty, n > 0, k > 0 else { return }
    precondition(rows.lowerBound >= 0 && input.count >= (rows.upperBound - 1) * inputStride + k,
                 "denseWeightGradient: input too short for rows \(rows)")
    precondition(dOut.count >= (rows.upperBound - 1) * dOutStride + n,
                 "denseWeightGradient: dOut too short for rows \(rows)")
    let panels = gradient.panels
    gradient.storage.withUnsafeMutableBufferPointer { gBuf in
        let g = gBuf.baseAddress!
        let x = input.baseAddress!, d = dOut.baseAddress!
        for p in 0..<panels {
            let gp = g + p * k * 16
            let cols = min(16, n - p * 16)
            var i = 0
            while i + 4 <= k {
                var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
                var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
                for r in rows {
                    let (d0, d1) = loadPartial16(d + r * dOutStride + p * 16, cols)
                    let xr = x + r * inputStride + i
                    let v0 = SIMD8<Float>(repeating: xr[0]), v1 = SIMD8<Float>(repeating: xr[1])
                    let v2 = SIMD8<Float>(repeating: xr[2]), v3 = SIMD8<Float>(repeating: xr[3])
                    multiplyAdd(&a00, v0, d0); multiplyAdd(&a01, v0, d1)
                    multiplyAdd(&a10, v1, d0); multiplyAdd(&a11, v1, d1)
                    multiplyAdd(&a20, v2, d0); multiplyAdd(&a21, v2, d1)
                    multiplyAdd(&a30, v3, d0); multiplyAdd(&a31, v3, d1)
                }
                let o = i * 16
                store8(load8(gp, o) + a00, gp, o); store8(load8(gp, o + 8) + a01, gp, o + 8)
                store8(load8(gp, o + 16) + a10, gp, o + 16); store8(load8(gp, o + 24) + a11, gp, o + 24)
                store8(load8(gp, o + 32) + a20, gp, o + 32); store8(load8(gp, o + 40) + a21, gp, o + 40)
                store8(load8(gp, o + 48) + a30, gp, o + 48); store8(load8(gp, o + 56) + a31, gp, o + 56)
                i += 4
            }
            while i < k {
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
                for r in rows {
                    let (d0, d1) = loadPartial16(d + r * dOutStride + p * 16, cols)
                    let v = SIMD8<Float>(repeating: x[r * inputStride + i])
                    multiplyAdd(&a0, v, d0); multiplyAdd(&a1, v, d1)
                }
                let o = i * 16
                store8(load8(gp, o) + a0, gp, o); store8(load8(gp, o + 8) + a1, gp, o + 8)
                i += 1
            }
        }
    }
}

/// Scalar reference for `denseWeightGradient`; `gradient` row-major `k × n`.
public func denseWeightGradientReference(
    _ input: UnsafeBufferPointer<Float>, inputStride: Int,
    _ dOut: UnsafeBufferPointer<Float>, dOutStride: Int,
    gradient: inout [Float], k: Int, n: Int, rows: Range<Int>
) {
    precondition(gradient.count == k * n)
    for i in 0..<k {
        for j in 0..<n {
            var s: Float = 0
            for r in rows { s += input[r * inputStride + i] * dOut[r * dOutStride + j] }
            gradient[i * n + j] += s
        }
    }
}

/// Bias gradient: `sums[j] += Σ_{r in rows} m[r, j]` for `j < columns`.
/// `columnSumsReference` is the scalar reference.
public func columnSums(
    _ m: UnsafeBufferPointer<Float>, stride: Int, columns: Int,
    into sums: UnsafeMutableBufferPointer<Float>, rows: Range<Int>
) {
    precondition(stride >= columns && sums.count >= columns, "columnSums: stride \(stride), \(sums.count) sums for \(columns) columns")
    guard !rows.isEmpty, columns > 0 else { return }
    precondition(rows.lowerBound >= 0 && m.count >= (rows.upperBound - 1) * stride + columns, "columnSums: matrix too short for rows \(rows)")
    let src = m.baseAddress!, dst = sums.baseAddress!
    var j = 0
    while j < columns {
        let cols = min(16, columns - j)
        var (s0, s1) = (SIMD8<Float>(), SIMD8<Float>())
        var (t0, t1) = (SIMD8<Float>(), SIMD8<Float>())
        var r = rows.lowerBound
        while r + 2 <= rows.upperBound {
            let (a0, a1) = loadPartial16(src + r * stride + j, cols)
            let (b0, b1) = loadPartial16(src + (r + 1) * stride + j, cols)
            s0 += a0; s1 += a1; t0 += b0; t1 += b1
            r += 2
        }
        if r < rows.upperBound {
            let (a0, a1) = loadPartial16(src + r * stride + j, cols)
            s0 += a0; s1 += a1
        }
        let (o0, o1) = loadPartial16(UnsafePointer(dst + j), cols)
        storePartial16(o0 + (s0 + t0), o1 + (s1 + t1), dst + j, cols)
        j += 16
    }
}

/// Scalar reference for `columnSums`.
public func columnSumsReference(
    _ m: UnsafeBufferPointer<Float>, stride: Int, columns: Int,
    into sums: UnsafeMutableBufferPointer<Float>, rows: Range<Int>
) {
    for j in 0..<columns {
        var s: Float = 0
        for r in rows { s += m[r * stride + j] }
        sums[j] += s
    }
}

/// ReLU backward: `gradient[r, j] = activation[r, j] > 0 ? gradient[r, j] : 0` for
/// `j < columns`, `r` in `rows` (`activation` is the layer's ReLU output; NaN activations
/// block the gradient). `reluBackwardReference` is the scalar reference.
public func reluBackward(
    _ activation: UnsafeBufferPointer<Float>, _ gradient: UnsafeMutableBufferPointer<Float>,
    stride: Int, columns: Int, rows: Range<Int>
) {
    precondition(stride >= columns, "reluBackward: stride \(stride) < columns \(columns)")
    guard !rows.isEmpty, columns > 0 else { return }
    let last = (rows.upperBound - 1) * stride + columns
    precondition(rows.lowerBound >= 0 && activation.count >= last && gradient.count >= last, "reluBackward: buffers too short for rows \(rows)")
    let a = activation.baseAddress!, g = gradient.baseAddress!
    for r in rows {
        let ar = a + r * stride, gr = g + r * stride
        var j = 0
        while j + 8 <= columns {
            let av = load8(ar, j), gv = load8(UnsafePointer(gr), j)
            store8(gv.replacing(with: 0, where: .!(av .> 0)), gr, j)
            j += 8
        }
        while j < columns {
            if !(ar[j] > 0) { gr[j] = 0 }
            j += 1
        }
    }
}

/// Scalar reference for `reluBackward`.
public func reluBackwardReference(
    _ activation: UnsafeBufferPointer<Float>, _ gradient: UnsafeMutableBufferPointer<Float>,
    stride: Int, columns: Int, rows: Range<Int>
) {
    for r in rows {
        for j in 0..<columns where !(activation[r * stride + j] > 0) { gradient[r * stride + j] = 0 }
    }
}
