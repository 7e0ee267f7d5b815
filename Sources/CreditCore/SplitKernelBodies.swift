// The GBDT split-gain kernel BODIES, compiled twice from this one file like
// TreeKernelBodies.swift (raw pointers, Ints and Doubles only, `package` `@inline(never)`
// entry points; Sources/CreditCoreHaswell/SplitKernelBodies.swift is a symlink to this file,
// compiled for AVX2). SplitKernels.swift checks the arguments, holds the scalar references
// and dispatches on `Kernels.variant`. Every lane does the reference's operations in the
// reference's order (no multiply-adds, no reassociation), so every copy gives its bits.

@inline(__always)
private func sLoad4(_ p: UnsafePointer<Double>, _ i: Int) -> SIMD4<Double> {
    UnsafeRawPointer(p).loadUnaligned(fromByteOffset: i &* 8, as: SIMD4<Double>.self)
}

/// Lanes `i ..< i + n` (n < 4) of `p`; the other lanes repeat lane 0 (computed, never stored).
@inline(__always)
private func sLoadTail(_ p: UnsafePointer<Double>, _ i: Int, _ n: Int) -> SIMD4<Double> {
    var v = SIMD4<Double>(repeating: p[i])
    for k in 1..<4 where k < n { v[k] = p[i &+ k] }
    return v
}

@inline(__always)
private func sStore(_ v: SIMD4<Double>, _ p: UnsafeMutablePointer<Double>, _ i: Int, _ n: Int) {
    if n == 4 {
        UnsafeMutableRawPointer(p).storeBytes(of: v, toByteOffset: i &* 8, as: SIMD4<Double>.self)
    } else {
        for k in 0..<n { p[i &+ k] = v[k] }
    }
}

/// Free gains of four candidates (left sums g, h, c).
@inline(__always)
private func freeGains4(_ g: SIMD4<Double>, _ h: SIMD4<Double>, _ c: SIMD4<Double>, _ totalG: Double, _ totalH: Double,
                        _ totalC: Double, _ lambda: Double, _ minData: Double, _ minChild: Double,
                        _ parent: Double) -> SIMD4<Double> {
    let rg = SIMD4(repeating: totalG) - g, rh = SIMD4(repeating: totalH) - h, rc = SIMD4(repeating: totalC) - c
    let l = SIMD4(repeating: lambda)
    let gain = g * g / (h + l) + rg * rg / (rh + l) - SIMD4(repeating: parent)
    let md = SIMD4(repeating: minData), mc = SIMD4(repeating: minChild)
    let bad = (c .< md) .| (rc .< md) .| (h .< mc) .| (rh .< mc)
    return gain.replacing(with: -.infinity, where: bad)
}

/// Body of `splitGains`.
@inline(never)
package func splitGainsKernel(g: UnsafePointer<Double>, h: UnsafePointer<Double>, c: UnsafePointer<Double>, count: Int,
                              totalG: Double, totalH: Double, totalC: Double, lambda: Double, minData: Double,
                              minChild: Double, parent: Double, gains: UnsafeMutablePointer<Double>) {
    var i = 0
    while i &+ 4 <= count {
        let v = freeGains4(sLoad4(g, i), sLoad4(h, i), sLoad4(c, i), totalG, totalH, totalC, lambda, minData, minChild, parent)
        sStore(v, gains, i, 4)
        i &+= 4
    }
    if i < count {
        let n = count &- i
        let v = freeGains4(sLoadTail(g, i, n), sLoadTail(h, i, n), sLoadTail(c, i, n), totalG, totalH, totalC, lambda,
                           minData, minChild, parent)
        sStore(v, gains, i, n)
    }
}

/// Swift's `min(max(w, lower), upper)`, lane by lane (`max(x, y)` is `y >= x ? y : x`,
/// `min(x, y)` is `y < x ? y : x`).
@inline(__always)
private func clamp4(_ w: SIMD4<Double>, _ lower: SIMD4<Double>, _ upper: SIMD4<Double>) -> SIMD4<Double> {
    let v = w.replacing(with: lower, where: lower .>= w)
    return v.replacing(with: upper, where: upper .< v)
}

/// Monotone gains of four candidates.
@inline(__always)
private func monotoneGains4(_ g: SIMD4<Double>, _ h: SIMD4<Double>, _ c: SIMD4<Double>, _ totalG: Double, _ totalH: Double,
                            _ totalC: Double, _ lambda: Double, _ eta: Double, _ lower: Double, _ upper: Double,
                            _ sign: Double, _ minData: Double, _ minChild: Double, _ parent: Double) -> SIMD4<Double> {
    let rg = SIMD4(repeating: totalG) - g, rh = SIMD4(repeating: totalH) - h, rc = SIMD4(repeating: totalC) - c
    let l = SIMD4(repeating: lambda), e = SIMD4(repeating: eta)
    let lo = SIMD4(repeating: lower), up = SIMD4(repeating: upper)
    let wl = clamp4(-g / (h + l) * e, lo, up)
    let wr = clamp4(-rg / (rh + l) * e, lo, up)
    let al = wl / e, ar = wr / e
    let two = SIMD4<Double>(repeating: 2)
    let gain = -(two * g * al + (h + l) * al * al) + -(two * rg * ar + (rh + l) * ar * ar) - SIMD4(repeating: parent)
    let md = SIMD4(repeating: minData), mc = SIMD4(repeating: minChild)
    let bad = (c .< md) .| (rc .< md) .| (h .< mc) .| (rh .< mc) .| (SIMD4(repeating: sign) * (wr - wl) .< SIMD4<Double>())
    return gain.replacing(with: -.infinity, where: bad)
}

/// Body of `monotoneSplitGains`.
@inline(never)
package func monotoneSplitGainsKernel(g: UnsafePointer<Double>, h: UnsafePointer<Double>, c: UnsafePointer<Double>, count: Int,
                                      totalG: Double, totalH: Double, totalC: Double, lambda: Double, eta: Double,
                                      lower: Double, upper: Double, sign: Double, minData: Double, minChild: Double,
                                      parent: Double, gains: UnsafeMutablePointer<Double>) {
    var i = 0
    while i &+ 4 <= count {
        let v = monotoneGains4(sLoad4(g, i), sLoad4(h, i), sLoad4(c, i), totalG, totalH, totalC, lambda, eta, lower, upper,
                               sign, minData, minChild, parent)
        sStore(v, gains, i, 4)
        i &+= 4
    }
    if i < count {
        let n = count &- i
        let v = monotoneGains4(sLoadTail(g, i, n), sLoadTail(h, i, n), sLoadTail(c, i, n), totalG, totalH, totalC, lambda, eta,
                               lower, upper, sign, minData, minChild, parent)
        sStore(v, gains, i, n)
    }
}
