/// Element-wise activation applied by `denseForward`.
public enum Activation: String, Codable, Sendable {
    case identity
    /// `x < 0 ? 0 : x`. NaN stays NaN (so a bad input surfaces in the output instead of
    /// silently turning into 0).
    case relu
}

/// Dense layer forward pass: `out[r, 0..<n] = act(in[r, 0..<k] · W + b)` for `r` in `rows`.
///
/// - `input`: row-major with `inputStride >= W.k` floats per row; rows `rows` are read.
/// - `output`: caller-allocated, `outputStride >= W.n` floats per row; rows `rows` are
///   written (columns `n..<outputStride` untouched).
/// - `bias`: `W.n` floats or nil (zero).
///
/// Register-blocked micro-kernel: 4 rows × 16 columns of accumulators (eight `SIMD8<Float>`)
/// per weight panel, the k loop streaming one contiguous 16-float weight row per step;
/// leftover rows use a 1-row kernel that covers 4 panels (64 columns) at a time so a single
/// row still keeps eight independent accumulator chains. Every output lane is accumulated in
/// the same order (bias, then `k` ascending) by every path, so a row's result is bitwise
/// independent of the batch it is scored in. Allocates nothing.
/// `denseForwardReference` is the scalar reference.
public func denseForward(
    _ input: UnsafeBufferPointer<Float>, inputStride: Int,
    weights: PackedMatrix, bias: UnsafeBufferPointer<Float>?, activation: Activation,
    _ output: UnsafeMutableBufferPointer<Float>, outputStride: Int,
    rows: Range<Int>
) {
    let k = weights.k, n = weights.n
    precondition(inputStride >= k && outputStride >= n, "denseForward: strides \(inputStride)/\(outputStride) for \(k)x\(n)")
    precondition(bias == nil || bias!.count >= n, "denseForward: bias has \(bias!.count) values, need \(n)")
    guard !rows.isEmpty, n > 0 else { return }
    precondition(rows.lowerBound >= 0 && input.count >= (rows.upperBound - 1) * inputStride + k,
                 "denseForward: input too short for rows \(rows)")
    precondition(output.count >= (rows.upperBound - 1) * outputStride + n,
                 "denseForward: output too short for rows \(rows)")
    weights.storage.withUnsafeBufferPointer { wBuf in
        let w = wBuf.baseAddress!
        let x = input.baseAddress!, y = output.baseAddress!
        let relu = activation == .relu
        let panels = weights.panels
        let panelStride = k * 16
        var r = rows.lowerBound
        while r + 4 <= rows.upperBound {
            let x0 = x + r * inputStride, x1 = x0 + inputStride, x2 = x1 + inputStride, x3 = x2 + inputStride
            for p in 0..<panels {
                let wp = w + p * panelStride
                let cols = min(16, n - p * 16)
                var (b0, b1) = (SIMD8<Float>(), SIMD8<Float>())
                if let bias { (b0, b1) = loadPartial16(bias.baseAddress! + p * 16, cols) }
                #if CREDIT_FMA || arch(arm64)
                // 16+ vector registers of 256 bits (or NEON pairs): all 16 columns at once.
                var a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1
                var i = 0
                while i < k {
                    let w0 = load8(wp, i * 16), w1 = load8(wp, i * 16 + 8)
                    let v0 = SIMD8<Float>(repeating: x0[i]), v1 = SIMD8<Float>(repeating: x1[i])
                    let v2 = SIMD8<Float>(repeating: x2[i]), v3 = SIMD8<Float>(repeating: x3[i])
                    multiplyAdd(&a00, v0, w0); multiplyAdd(&a01, v0, w1)
                    multiplyAdd(&a10, v1, w0); multiplyAdd(&a11, v1, w1)
                    multiplyAdd(&a20, v2, w0); multiplyAdd(&a21, v2, w1)
                    multiplyAdd(&a30, v3, w0); multiplyAdd(&a31, v3, w1)
                    i += 1
                }
                #else
                // SSE baseline: a SIMD8 is two 128-bit registers, so 4×16 accumulators would
                // fill all 16 and spill; do the panel as two 4×8 halves (same per-lane order).
                var a00 = b0, a10 = b0, a20 = b0, a30 = b0
                var i = 0
                while i < k {
                    let w0 = load8(wp, i * 16)
                    multiplyAdd(&a00, SIMD8<Float>(repeating: x0[i]), w0)
                    multiplyAdd(&a10, SIMD8<Float>(repeating: x1[i]), w0)
                    multiplyAdd(&a20, SIMD8<Float>(repeating: x2[i]), w0)
                    multiplyAdd(&a30, SIMD8<Float>(repeating: x3[i]), w0)
                    i += 1
                }
                var a01 = b1, a11 = b1, a21 = b1, a31 = b1
                if cols > 8 {
                    i = 0
                    while i < k {
                        let w1 = load8(wp, i * 16 + 8)
                        multiplyAdd(&a01, SIMD8<Float>(repeating: x0[i]), w1)
                        multiplyAdd(&a11, SIMD8<Float>(repeating: x1[i]), w1)
                        multiplyAdd(&a21, SIMD8<Float>(repeating: x2[i]), w1)
                        multiplyAdd(&a31, SIMD8<Float>(repeating: x3[i]), w1)
                        i += 1
                    }
                }
                #endif
                if relu {
                    a00 = reluSIMD(a00); a01 = reluSIMD(a01); a10 = reluSIMD(a10); a11 = reluSIMD(a11)
                    a20 = reluSIMD(a20); a21 = reluSIMD(a21); a30 = reluSIMD(a30); a31 = reluSIMD(a31)
                }
                let y0 = y + r * outputStride + p * 16
                storePartial16(a00, a01, y0, cols)
                storePartial16(a10, a11, y0 + outputStride, cols)
                storePartial16(a20, a21, y0 + 2 * outputStride, cols)
                storePartial16(a30, a31, y0 + 3 * outputStride, cols)
            }
            r += 4
        }
        while r < rows.upperBound {
            let x0 = x + r * inputStride
            var p = 0
            #if CREDIT_FMA || arch(arm64)
            let group = 4     // 4 panels = 8 accumulator registers of 256 bits
            #else
            let group = 2     // SSE: 2 panels = 8 accumulator registers of 128 bits
            #endif
            while group == 4 && p + 4 <= panels {
                let wp0 = w + p * panelStride, wp1 = wp0 + panelStride, wp2 = wp1 + panelStride, wp3 = wp2 + panelStride
                var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
                var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
                if let bias {
                    let b = bias.baseAddress! + p * 16
                    (a00, a01) = loadPartial16(b, 16); (a10, a11) = loadPartial16(b + 16, 16)
                    (a20, a21) = loadPartial16(b + 32, 16); (a30, a31) = loadPartial16(b + 48, min(16, n - (p + 3) * 16))
                }
                var i = 0
                while i < k {
                    let v = SIMD8<Float>(repeating: x0[i])
                    let o = i * 16
                    multiplyAdd(&a00, v, load8(wp0, o)); multiplyAdd(&a01, v, load8(wp0, o + 8))
                    multiplyAdd(&a10, v, load8(wp1, o)); multiplyAdd(&a11, v, load8(wp1, o + 8))
                    multiplyAdd(&a20, v, load8(wp2, o)); multiplyAdd(&a21, v, load8(wp2, o + 8))
                    multiplyAdd(&a30, v, load8(wp3, o)); multiplyAdd(&a31, v, load8(wp3, o + 8))
                    i += 1
                }
                if relu {
                    a00 = reluSIMD(a00); a01 = reluSIMD(a01); a10 = reluSIMD(a10); a11 = reluSIMD(a11)
                    a20 = reluSIMD(a20); a21 = reluSIMD(a21); a30 = reluSIMD(a30); a31 = reluSIMD(a31)
                }
                let y0 = y + r * outputStride + p * 16
                storePartial16(a00, a01, y0, 16)
                storePartial16(a10, a11, y0 + 16, 16)
                storePartial16(a20, a21, y0 + 32, 16)
                storePartial16(a30, a31, y0 + 48, min(16, n - (p + 3) * 16))
                p += 4
            }
            while p + 2 <= panels {
                let wp0 = w + p * panelStride, wp1 = wp0 + panelStride
                var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
                if let bias {
                    let b = bias.baseAddress! + p * 16
                    (a00, a01) = loadPartial16(b, 16); (a10, a11) = loadPartial16(b + 16, min(16, n - (p + 1) * 16))
                }
                var i = 0
                while i < k {
                    let v = SIMD8<Float>(repeating: x0[i])
                    let o = i * 16
                    multiplyAdd(&a00, v, load8(wp0, o)); multiplyAdd(&a01, v, load8(wp0, o + 8))
                    multiplyAdd(&a10, v, load8(wp1, o)); multiplyAdd(&a11, v, load8(wp1, o + 8))
                    i += 1
                }
                if relu { a00 = reluSIMD(a00); a01 = reluSIMD(a01); a10 = reluSIMD(a10); a11 = reluSIMD(a11) }
                let y0 = y + r * outputStride + p * 16
                storePartial16(a00, a01, y0, 16)
                storePartial16(a10, a11, y0 + 16, min(16, n - (p + 1) * 16))
                p += 2
            }
            while p < panels {
                let wp = w + p * panelStride
                let cols = min(16, n - p * 16)
                var (a0, a1) = (SIMD8<Float>(), SIMD8<Float>())
                if let bias { (a0, a1) = loadPartial16(bias.baseAddress! + p * 16, cols) }
                // One chain per lane in k order, exactly as the 4-row kernel: a row's result
                // does not depend on which kernel (batch position) computed it.
                var i = 0
                while i < k {
                    let v = SIMD8<Float>(repeating: x0[i])
                    multiplyAdd(&a0, v, load8(wp, i * 16)); multiplyAdd(&a1, v, load8(wp, i * 16 + 8))
                    i += 1
                }
                if relu { a0 = reluSIMD(a0); a1 = reluSIMD(a1) }
                storePartial16(a0, a1, y + r * outputStride + p * 16, cols)
                p += 1
            }
            r += 1
        }
    }
}

@inlinable @inline(__always)
func reluSIMD(_ v: SIMD8<Float>) -> SIMD8<Float> {
    v.replacing(with: 0, where: v .< 0)
}

/// Scalar ReLU with the same NaN rule as the SIMD kernels (NaN passes through).
@inlinable @inline(__always)
public func relu(_ x: Float) -> Float { x < 0 ? 0 : x }

/// Scalar reference for `denseForward`; `weights` row-major `k × n`.
public func denseForwardReference(
    _ input: UnsafeBufferPointer<Float>, inputStride: Int,
    weights: [Float], k: Int, n: Int, bias: [Float]?, activation: Activation,
    _ output: UnsafeMutableBufferPointer<Float>, outputStride: Int,
    rows: Range<Int>
) {
    precondition(weights.count == k * n)
    for r in rows {
        for j in 0..<n {
            var s: Float = bias?[j] ?? 0
            for i in 0..<k { s += input[r * inputStride + i] * weights[i * n + j] }
            output[r * outputStride + j] = activation == .relu ? relu(s) : s
        }
    }
}
