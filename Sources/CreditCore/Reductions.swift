import Foundation

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
