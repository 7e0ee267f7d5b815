import CreditCoreHaswell
import Foundation

// Float32 kernels of the matrix core: SIMD helpers, dense forward, dense gradients,
// reductions. The bodies of the two multiply-heavy kernels (dense forward, weight gradient)
// are in DenseKernelBodies.swift, compiled twice (portable here, AVX2+FMA in
// CreditCoreHaswell) and chosen at run time (`Kernels.variant`, KernelDispatch.swift); this
// file checks their arguments and dispatches. The rest live in ONE file on purpose: debug
// builds compile files separately (no whole-module optimization), and the small
// `@inline(__always)` helpers (multiplyAdd, load8, ...) are only inlined into kernels in the
// same file — split across files they become calls and the kernels run ~3x slower in
// `swift test` (DenseKernelBodies.swift therefore carries its own copies of the helpers).

// MARK: - SIMD helpers

// Shared helpers for the Float32 kernels: unaligned SIMD loads/stores, multiply-add, and
// tail-safe partial loads.
//
// Build flags (see docs/matrix-core.md): the default x86-64 target is SSE2 only. There,
// `SIMD8.addProduct` lowers to eight `fmaf` library calls, so these kernels use `acc += a * b`
// (separate multiply and add). The dense kernels get AVX2 + fused multiply-add through the
// run-time dispatch instead; on arm64 FMA is always available and used.

/// Bytes in one Float.
@usableFromInline let floatBytes = MemoryLayout<Float>.stride

/// `acc += a * b`, fused when the build target has FMA (arm64, or `-DCREDIT_FMA` together with
/// a `-target-cpu` that has FMA), otherwise a multiply and an add.
@inlinable @inline(__always)
public func multiplyAdd(_ acc: inout SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) {
    #if CREDIT_FMA || arch(arm64)
    acc.addProduct(a, b)
    #else
    acc += a * b
    #endif
}

/// Scalar counterpart of `multiplyAdd` with the same fusing rule.
@inlinable @inline(__always)
public func multiplyAdd(_ acc: inout Float, _ a: Float, _ b: Float) {
    #if CREDIT_FMA || arch(arm64)
    acc.addProduct(a, b)
    #else
    acc += a * b
    #endif
}

@inlinable @inline(__always)
func load8(_ p: UnsafePointer<Float>, _ offset: Int) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(fromByteOffset: offset &* floatBytes, as: SIMD8<Float>.self)
}

@inlinable @inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ offset: Int) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, toByteOffset: offset &* floatBytes, as: SIMD8<Float>.self)
}

/// Loads `count` (0...16) floats from `p` into two SIMD8 halves, zero beyond `count`.
@inlinable @inline(__always)
func loadPartial16(_ p: UnsafePointer<Float>, _ count: Int) -> (SIMD8<Float>, SIMD8<Float>) {
    if count >= 16 { return (load8(p, 0), load8(p, 8)) }
    var lo = SIMD8<Float>(), hi = SIMD8<Float>()
    var j = 0
    while j < count && j < 8 { lo[j] = p[j]; j += 1 }
    while j < count { hi[j - 8] = p[j]; j += 1 }
    return (lo, hi)
}

/// Stores the first `count` (0...16) lanes of the two halves to `p`.
@inlinable @inline(__always)
func storePartial16(_ lo: SIMD8<Float>, _ hi: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    if count >= 16 { store8(lo, p, 0); store8(hi, p, 8); return }
    var j = 0
    while j < count && j < 8 { p[j] = lo[j]; j += 1 }
    while j < count { p[j] = hi[j - 8]; j += 1 }
}

// MARK: - Dense forward

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
///
/// Runs the kernel copy `Kernels.variant` chose for this process (AVX2+FMA when the CPU has
/// it, else portable; `CREDIT_KERNELS` overrides). The copies differ in the last bits (fused
/// rounding); each is deterministic.
public func denseForward(
    _ input: UnsafeBufferPointer<Float>, inputStride: Int,
    weights: PackedMatrix, bias: UnsafeBufferPointer<Float>?, activation: Activation,
    _ output: UnsafeMutableBufferPointer<Float>, outputStride: Int,
    rows: Range<Int>
) {
    denseForward(input, inputStride: inputStride, weights: weights, bias: bias, activation: activation,
                 output, outputStride: outputStride, rows: rows, variant: Kernels.variant)
}

/// `denseForward` on an explicit kernel copy instead of `Kernels.variant` (tests and
/// `credit-bench kernels` compare the two). `variant` must be available on this CPU
/// (`Kernels.isAvailable`); asking for `.haswell` without AVX2+FMA is a programmer error
/// (precondition) rather than an illegal-instruction trap.
public func denseForward(
    _ input: UnsafeBufferPointer<Float>, inputStride: Int,
    weights: PackedMatrix, bias: UnsafeBufferPointer<Float>?, activation: Activation,
    _ output: UnsafeMutableBufferPointer<Float>, outputStride: Int,
    rows: Range<Int>, variant: KernelVariant
) {
    let k = weights.k, n = weights.n
    precondition(inputStride >= k && outputStride >= n, "denseForward: strides \(inputStride)/\(outputStride) for \(k)x\(n)")
    precondition(bias == nil || bias!.count >= n, "denseForward: bias has \(bias!.count) values, need \(n)")
    guard !rows.isEmpty, n > 0 else { return }
    precondition(rows.lowerBound >= 0 && input.count >= (rows.upperBound - 1) * inputStride + k,
                 "denseForward: input too short for rows \(rows)")
    precondition(output.count >= (rows.upperBound - 1) * outputStride + n,
                 "denseForward: output too short for rows \(rows)")
    precondition(Kernels.isAvailable(variant), "denseForward: kernel variant \(variant) is not available on this CPU")
    weights.storage.withUnsafeBufferPointer { wBuf in
        let w = wBuf.baseAddress!
        let x = input.baseAddress!, y = output.baseAddress!
        let b = bias.map { $0.baseAddress! }
        let relu = activation == .relu
        switch variant {
        case .portable:
            CreditCore.denseForwardKernel(x, inputStride: inputStride, weights: w, k: k, n: n, bias: b, relu: relu,
                                          y, outputStride: outputStride, rowStart: rows.lowerBound, rowEnd: rows.upperBound)
        case .haswell:
            CreditCoreHaswell.denseForwardKernel(x, inputStride: inputStride, weights: w, k: k, n: n, bias: b, relu: relu,
                                                 y, outputStride: outputStride, rowStart: rows.lowerBound, rowEnd: rows.upperBound)
        }
    }
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

// MARK: - Dense gradients

// Training kernels for dense layers. The input gradient `dIn = dOut · Wᵀ` reuses
// `denseForward` with `W.transposed()` (see `PackedMatrix.transpose(into:)`).

/// Weight gradient: `gradient[i, j] += Σ_{r in rows} in[r, i] · dOut[r, j]` (`gradient` has the
/// layer's packed shape `k × n`; its zero padding stays zero).
///
/// Blocking: per 16-column panel, 4 input columns × 16 output columns of accumulators
/// (eight `SIMD8<Float>`) over all rows, then added into `gradient`. Allocates nothing.
/// Dispatched like `denseForward` (`Kernels.variant`).
/// `denseWeightGradientReference` is the scalar reference.
public func denseWeightGradient(
    _ input: UnsafeBufferPointer<Float>, inputStride: Int,
    _ dOut: UnsafeBufferPointer<Float>, dOutStride: Int,
    gradient: inout PackedMatrix, rows: Range<Int>
) {
    denseWeightGradient(input, inputStride: inputStride, dOut, dOutStride: dOutStride, gradient: &gradient,
                        rows: rows, variant: Kernels.variant)
}

/// `denseWeightGradient` on an explicit kernel copy (see `denseForward(..., variant:)`).
public func denseWeightGradient(
    _ input: UnsafeBufferPointer<Float>, inputStride: Int,
    _ dOut: UnsafeBufferPointer<Float>, dOutStride: Int,
    gradient: inout PackedMatrix, rows: Range<Int>, variant: KernelVariant
) {
    let k = gradient.k, n = gradient.n
    precondition(inputStride >= k && dOutStride >= n, "denseWeightGradient: strides \(inputStride)/\(dOutStride) for \(k)x\(n)")
    guard !rows.isEmpty, n > 0, k > 0 else { return }
    precondition(rows.lowerBound >= 0 && input.count >= (rows.upperBound - 1) * inputStride + k,
                 "denseWeightGradient: input too short for rows \(rows)")
    precondition(dOut.count >= (rows.upperBound - 1) * dOutStride + n,
                 "denseWeightGradient: dOut too short for rows \(rows)")
    precondition(Kernels.isAvailable(variant), "denseWeightGradient: kernel variant \(variant) is not available on this CPU")
    gradient.storage.withUnsafeMutableBufferPointer { gBuf in
        let g = gBuf.baseAddress!
        let x = input.baseAddress!, d = dOut.baseAddress!
        switch variant {
        case .portable:
            CreditCore.denseWeightGradientKernel(x, inputStride: inputStride, d, dOutStride: dOutStride, gradient: g,
                                                 k: k, n: n, rowStart: rows.lowerBound, rowEnd: rows.upperBound)
        case .haswell:
            CreditCoreHaswell.denseWeightGradientKernel(x, inputStride: inputStride, d, dOutStride: dOutStride, gradient: g,
                                                        k: k, n: n, rowStart: rows.lowerBound, rowEnd: rows.upperBound)
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

// MARK: - Reductions

// Vector reductions and updates: sum, maximum, log-sum-exp, axpy. Each SIMD kernel has a scalar
// reference beside it (`...Reference`) for differential tests.

/// Sum of `x` (four `SIMD8<Float>` accumulators, reduction, scalar tail).
public func sum(_ x: UnsafeBufferPointer<Float>) -> Float {
    let n = x.count
    guard n > 0, let p = x.baseAddress else { return 0 }
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var i = 0
    while i + 32 <= n {
        a0 += load8(p, i); a1 += load8(p, i + 8); a2 += load8(p, i + 16); a3 += load8(p, i + 24)
        i += 32
    }
    while i + 8 <= n { a0 += load8(p, i); i += 8 }
    var s = ((a0 + a1) + (a2 + a3)).sum()
    while i < n { s += p[i]; i += 1 }
    return s
}

/// Scalar reference for `sum`.
public func sumReference(_ x: UnsafeBufferPointer<Float>) -> Float {
    var s: Float = 0
    for v in x { s += v }
    return s
}

/// Largest element of `x`; NaN if any element is NaN; `-infinity` for an empty buffer.
public func maximum(_ x: UnsafeBufferPointer<Float>) -> Float {
    let n = x.count
    guard n > 0, let p = x.baseAddress else { return -.infinity }
    var m0 = SIMD8<Float>(repeating: -.infinity), m1 = m0
    var nan = SIMDMask<SIMD8<Int32>>()
    var i = 0
    while i + 16 <= n {
        let v0 = load8(p, i), v1 = load8(p, i + 8)
        nan .|= (v0 .!= v0) .| (v1 .!= v1)
        m0 = pointwiseMax(m0, v0); m1 = pointwiseMax(m1, v1)
        i += 16
    }
    while i + 8 <= n {
        let v = load8(p, i)
        nan .|= v .!= v
        m0 = pointwiseMax(m0, v)
        i += 8
    }
    if any(nan) { return .nan }
    var m = pointwiseMax(m0, m1).max()
    while i < n {
        let v = p[i]
        if v.isNaN { return .nan }
        if v > m { m = v }
        i += 1
    }
    return m
}

/// Scalar reference for `maximum`.
public func maximumReference(_ x: UnsafeBufferPointer<Float>) -> Float {
    var m = -Float.infinity
    for v in x {
        if v.isNaN { return .nan }
        if v > m { m = v }
    }
    return m
}

/// `log(Σ exp(x))`, stable (shifted by the maximum); `-infinity` for an empty buffer.
/// Accumulates in Double.
public func logSumExp(_ x: UnsafeBufferPointer<Float>) -> Float {
    let m = maximum(x)
    if !m.isFinite { return m }
    var s = 0.0
    for v in x { s += exp(Double(v - m)) }
    return m + Float(log(s))
}

/// `y[i] += alpha * x[i]`.
public func axpy(_ alpha: Float, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
    precondition(x.count == y.count, "axpy: length mismatch \(x.count) vs \(y.count)")
    let n = x.count
    guard n > 0 else { return }
    let px = x.baseAddress!, py = y.baseAddress!
    let a = SIMD8<Float>(repeating: alpha)
    var i = 0
    while i + 16 <= n {
        var y0 = load8(UnsafePointer(py), i), y1 = load8(UnsafePointer(py), i + 8)
        multiplyAdd(&y0, a, load8(px, i)); multiplyAdd(&y1, a, load8(px, i + 8))
        store8(y0, py, i); store8(y1, py, i + 8)
        i += 16
    }
    while i < n { multiplyAdd(&py[i], alpha, px[i]); i += 1 }
}

/// Scalar reference for `axpy`.
public func axpyReference(_ alpha: Float, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
    for i in 0..<x.count { y[i] += alpha * x[i] }
}
