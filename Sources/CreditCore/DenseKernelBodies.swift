// The dense-layer kernel BODIES, compiled twice from this one file (docs/matrix-core.md,
// "Run-time dispatch"):
//
//   * in CreditCore, for the portable x86-64 baseline (SSE2, no FMA);
//   * in CreditCoreHaswell, whose `DenseKernelBodies.swift` is a symlink to this file, with
//     `-target-cpu haswell -DCREDIT_FMA` (AVX2 + fused multiply-add; Package.swift).
//
// `denseForward` / `denseWeightGradient` in Kernels.swift check their arguments and call one
// of the two copies according to `Kernels.variant`. Rules for this file, because it is two
// modules at once:
//   * Only raw pointers and Ints cross the boundary (the two modules cannot share Swift types;
//     PackedMatrix stays in CreditCore).
//   * The entry points are `package` (visible to CreditCore, not to users) and
//     `@inline(never)`, so no AVX2 code can be inlined into a portable caller.
//   * No types, globals or generic code of its own: everything a body needs is an
//     `@inline(__always)` helper below (inlined; debug builds only inline within one file),
//     so the haswell object file defines no shared (linkonce) symbol the linker could pick
//     for a portable caller.
//   * No argument checks here: the callers in Kernels.swift check shapes and lengths.

/// `acc += a * b`: fused when this copy is compiled for FMA (`CREDIT_FMA`, or arm64), else a
/// multiply and an add (on the SSE2 baseline `addProduct` would be eight `fmaf` calls).
@inline(__always)
private func kMultiplyAdd(_ acc: inout SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) {
    #if CREDIT_FMA || arch(arm64)
    acc.addProduct(a, b)
    #else
    acc += a * b
    #endif
}

@inline(__always)
private func kLoad8(_ p: UnsafePointer<Float>, _ offset: Int) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(fromByteOffset: offset &* 4, as: SIMD8<Float>.self)
}

@inline(__always)
private func kStore8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ offset: Int) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, toByteOffset: offset &* 4, as: SIMD8<Float>.self)
}

/// Loads `count` (0...16) floats from `p` into two SIMD8 halves, zero beyond `count`.
@inline(__always)
private func kLoadPartial16(_ p: UnsafePointer<Float>, _ count: Int) -> (SIMD8<Float>, SIMD8<Float>) {
    if count >= 16 { return (kLoad8(p, 0), kLoad8(p, 8)) }
    var lo = SIMD8<Float>(), hi = SIMD8<Float>()
    var j = 0
    while j < count && j < 8 { lo[j] = p[j]; j += 1 }
    while j < count { hi[j - 8] = p[j]; j += 1 }
    return (lo, hi)
}

/// Stores the first `count` (0...16) lanes of the two halves to `p`.
@inline(__always)
private func kStorePartial16(_ lo: SIMD8<Float>, _ hi: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    if count >= 16 { kStore8(lo, p, 0); kStore8(hi, p, 8); return }
    var j = 0
    while j < count && j < 8 { p[j] = lo[j]; j += 1 }
    while j < count { p[j] = hi[j - 8]; j += 1 }
}

/// ReLU with NaN passing through (`x < 0 ? 0 : x`).
@inline(__always)
private func kRelu(_ v: SIMD8<Float>) -> SIMD8<Float> {
    v.replacing(with: 0, where: v .< 0)
}

/// Whether this copy fuses multiply-adds (true in CreditCoreHaswell on x86-64 and on arm64).
/// Tests use it to prove the haswell flags reached the compiler.
@inline(never)
package func denseKernelsFuseMultiplyAdd() -> Bool {
    #if CREDIT_FMA || arch(arm64)
    return true
    #else
    return false
    #endif
}

/// Body of `denseForward`: `y[r, 0..<n] = act(x[r, 0..<k] · W + b)` for `r` in
/// `rowStart..<rowEnd`, `W` packed as `PackedMatrix.storage` (panels of 16 columns), `bias`
/// `n` floats or nil. Preconditions are checked by the caller (Kernels.swift).
///
/// Register-blocked micro-kernel: 4 rows × 16 columns of accumulators (eight `SIMD8<Float>`)
/// per weight panel, the k loop streaming one contiguous 16-float weight row per step;
/// leftover rows use a 1-row kernel that covers 4 panels (64 columns) at a time so a single
/// row still keeps eight independent accumulator chains. Every output lane is accumulated in
/// the same order (bias, then `k` ascending) by every path, so a row's result is bitwise
/// independent of the batch it is scored in.
@inline(never)
package func denseForwardKernel(
    _ x: UnsafePointer<Float>, inputStride: Int,
    weights w: UnsafePointer<Float>, k: Int, n: Int,
    bias: UnsafePointer<Float>?, relu: Bool,
    _ y: UnsafeMutablePointer<Float>, outputStride: Int,
    rowStart: Int, rowEnd: Int
) {
    let panels = (n + 15) / 16
    let panelStride = k * 16
    var r = rowStart
    while r + 4 <= rowEnd {
        let x0 = x + r * inputStride, x1 = x0 + inputStride, x2 = x1 + inputStride, x3 = x2 + inputStride
        for p in 0..<panels {
            let wp = w + p * panelStride
            let cols = min(16, n - p * 16)
            var (b0, b1) = (SIMD8<Float>(), SIMD8<Float>())
            if let bias { (b0, b1) = kLoadPartial16(bias + p * 16, cols) }
            #if CREDIT_FMA || arch(arm64)
            // 16+ vector registers of 256 bits (or NEON pairs): all 16 columns at once.
            var a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1
            var i = 0
            while i < k {
                let w0 = kLoad8(wp, i * 16), w1 = kLoad8(wp, i * 16 + 8)
                let v0 = SIMD8<Float>(repeating: x0[i]), v1 = SIMD8<Float>(repeating: x1[i])
                let v2 = SIMD8<Float>(repeating: x2[i]), v3 = SIMD8<Float>(repeating: x3[i])
                kMultiplyAdd(&a00, v0, w0); kMultiplyAdd(&a01, v0, w1)
                kMultiplyAdd(&a10, v1, w0); kMultiplyAdd(&a11, v1, w1)
                kMultiplyAdd(&a20, v2, w0); kMultiplyAdd(&a21, v2, w1)
                kMultiplyAdd(&a30, v3, w0); kMultiplyAdd(&a31, v3, w1)
                i += 1
            }
            #else
            // SSE baseline: a SIMD8 is two 128-bit registers, so 4×16 accumulators would
            // fill all 16 and spill; do the panel as two 4×8 halves (same per-lane order).
            var a00 = b0, a10 = b0, a20 = b0, a30 = b0
            var i = 0
            while i < k {
                let w0 = kLoad8(wp, i * 16)
                kMultiplyAdd(&a00, SIMD8<Float>(repeating: x0[i]), w0)
                kMultiplyAdd(&a10, SIMD8<Float>(repeating: x1[i]), w0)
                kMultiplyAdd(&a20, SIMD8<Float>(repeating: x2[i]), w0)
                kMultiplyAdd(&a30, SIMD8<Float>(repeating: x3[i]), w0)
                i += 1
            }
            var a01 = b1, a11 = b1, a21 = b1, a31 = b1
            if cols > 8 {
                i = 0
                while i < k {
                    let w1 = kLoad8(wp, i * 16 + 8)
                    kMultiplyAdd(&a01, SIMD8<Float>(repeating: x0[i]), w1)
                    kMultiplyAdd(&a11, SIMD8<Float>(repeating: x1[i]), w1)
                    kMultiplyAdd(&a21, SIMD8<Float>(repeating: x2[i]), w1)
                    kMultiplyAdd(&a31, SIMD8<Float>(repeating: x3[i]), w1)
                    i += 1
                }
            }
            #endif
            if relu {
                a00 = kRelu(a00); a01 = kRelu(a01); a10 = kRelu(a10); a11 = kRelu(a11)
                a20 = kRelu(a20); a21 = kRelu(a21); a30 = kRelu(a30); a31 = kRelu(a31)
            }
            let y0 = y + r * outputStride + p * 16
            kStorePartial16(a00, a01, y0, cols)
            kStorePartial16(a10, a11, y0 + outputStride, cols)
            kStorePartial16(a20, a21, y0 + 2 * outputStride, cols)
            kStorePartial16(a30, a31, y0 + 3 * outputStride, cols)
        }
        r += 4
    }
    while r < rowEnd {
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
                let b = bias + p * 16
                (a00, a01) = kLoadPartial16(b, 16); (a10, a11) = kLoadPartial16(b + 16, 16)
                (a20, a21) = kLoadPartial16(b + 32, 16); (a30, a31) = kLoadPartial16(b + 48, min(16, n - (p + 3) * 16))
            }
            var i = 0
            while i < k {
                let v = SIMD8<Float>(repeating: x0[i])
                let o = i * 16
                kMultiplyAdd(&a00, v, kLoad8(wp0, o)); kMultiplyAdd(&a01, v, kLoad8(wp0, o + 8))
                kMultiplyAdd(&a10, v, kLoad8(wp1, o)); kMultiplyAdd(&a11, v, kLoad8(wp1, o + 8))
                kMultiplyAdd(&a20, v, kLoad8(wp2, o)); kMultiplyAdd(&a21, v, kLoad8(wp2, o + 8))
                kMultiplyAdd(&a30, v, kLoad8(wp3, o)); kMultiplyAdd(&a31, v, kLoad8(wp3, o + 8))
                i += 1
            }
            if relu {
                a00 = kRelu(a00); a01 = kRelu(a01); a10 = kRelu(a10); a11 = kRelu(a11)
                a20 = kRelu(a20); a21 = kRelu(a21); a30 = kRelu(a30); a31 = kRelu(a31)
            }
            let y0 = y + r * outputStride + p * 16
            kStorePartial16(a00, a01, y0, 16)
            kStorePartial16(a10, a11, y0 + 16, 16)
            kStorePartial16(a20, a21, y0 + 32, 16)
            kStorePartial16(a30, a31, y0 + 48, min(16, n - (p + 3) * 16))
            p += 4
        }
        while p + 2 <= panels {
            let wp0 = w + p * panelStride, wp1 = wp0 + panelStride
            var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
            if let bias {
                let b = bias + p * 16
                (a00, a01) = kLoadPartial16(b, 16); (a10, a11) = kLoadPartial16(b + 16, min(16, n - (p + 1) * 16))
            }
            var i = 0
            while i < k {
                let v = SIMD8<Float>(repeating: x0[i])
                let o = i * 16
                kMultiplyAdd(&a00, v, kLoad8(wp0, o)); kMultiplyAdd(&a01, v, kLoad8(wp0, o + 8))
                kMultiplyAdd(&a10, v, kLoad8(wp1, o)); kMultiplyAdd(&a11, v, kLoad8(wp1, o + 8))
                i += 1
            }
            if relu { a00 = kRelu(a00); a01 = kRelu(a01); a10 = kRelu(a10); a11 = kRelu(a11) }
            let y0 = y + r * outputStride + p * 16
            kStorePartial16(a00, a01, y0, 16)
            kStorePartial16(a10, a11, y0 + 16, min(16, n - (p + 1) * 16))
            p += 2
        }
        while p < panels {
            let wp = w + p * panelStride
            let cols = min(16, n - p * 16)
            var (a0, a1) = (SIMD8<Float>(), SIMD8<Float>())
            if let bias { (a0, a1) = kLoadPartial16(bias + p * 16, cols) }
            // One chain per lane in k order, exactly as the 4-row kernel: a row's result
            // does not depend on which kernel (batch position) computed it.
            var i = 0
            while i < k {
                let v = SIMD8<Float>(repeating: x0[i])
                kMultiplyAdd(&a0, v, kLoad8(wp, i * 16)); kMultiplyAdd(&a1, v, kLoad8(wp, i * 16 + 8))
                i += 1
            }
            if relu { a0 = kRelu(a0); a1 = kRelu(a1) }
            kStorePartial16(a0, a1, y + r * outputStride + p * 16, cols)
            p += 1
        }
        r += 1
    }
}

/// Body of `denseWeightGradient`: `g[i, j] += Σ_{r in rowStart..<rowEnd} x[r, i] · d[r, j]`,
/// `g` packed like `PackedMatrix.storage` (`k × n`, zero padding stays zero). Preconditions are
/// checked by the caller (Kernels.swift).
///
/// Blocking: per 16-column panel, 4 input columns × 16 output columns of accumulators
/// (eight `SIMD8<Float>`) over all rows, then added into `g`.
@inline(never)
package func denseWeightGradientKernel(
    _ x: UnsafePointer<Float>, inputStride: Int,
    _ d: UnsafePointer<Float>, dOutStride: Int,
    gradient g: UnsafeMutablePointer<Float>, k: Int, n: Int,
    rowStart: Int, rowEnd: Int
) {
    let panels = (n + 15) / 16
    for p in 0..<panels {
        let gp = g + p * k * 16
        let cols = min(16, n - p * 16)
        var i = 0
        while i + 4 <= k {
            var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
            var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
            var r = rowStart
            while r < rowEnd {
                let (d0, d1) = kLoadPartial16(d + r * dOutStride + p * 16, cols)
                let xr = x + r * inputStride + i
                let v0 = SIMD8<Float>(repeating: xr[0]), v1 = SIMD8<Float>(repeating: xr[1])
                let v2 = SIMD8<Float>(repeating: xr[2]), v3 = SIMD8<Float>(repeating: xr[3])
                kMultiplyAdd(&a00, v0, d0); kMultiplyAdd(&a01, v0, d1)
                kMultiplyAdd(&a10, v1, d0); kMultiplyAdd(&a11, v1, d1)
                kMultiplyAdd(&a20, v2, d0); kMultiplyAdd(&a21, v2, d1)
                kMultiplyAdd(&a30, v3, d0); kMultiplyAdd(&a31, v3, d1)
                r += 1
            }
            let o = i * 16
            kStore8(kLoad8(gp, o) + a00, gp, o); kStore8(kLoad8(gp, o + 8) + a01, gp, o + 8)
            kStore8(kLoad8(gp, o + 16) + a10, gp, o + 16); kStore8(kLoad8(gp, o + 24) + a11, gp, o + 24)
            kStore8(kLoad8(gp, o + 32) + a20, gp, o + 32); kStore8(kLoad8(gp, o + 40) + a21, gp, o + 40)
            kStore8(kLoad8(gp, o + 48) + a30, gp, o + 48); kStore8(kLoad8(gp, o + 56) + a31, gp, o + 56)
            i += 4
        }
        while i < k {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
            var r = rowStart
            while r < rowEnd {
                let (d0, d1) = kLoadPartial16(d + r * dOutStride + p * 16, cols)
                let v = SIMD8<Float>(repeating: x[r * inputStride + i])
                kMultiplyAdd(&a0, v, d0); kMultiplyAdd(&a1, v, d1)
                r += 1
            }
            let o = i * 16
            kStore8(kLoad8(gp, o) + a0, gp, o); kStore8(kLoad8(gp, o + 8) + a1, gp, o + 8)
            i += 1
        }
    }
}
