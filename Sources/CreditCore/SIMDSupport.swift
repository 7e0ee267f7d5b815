// Shared helpers for the Float32 kernels: unaligned SIMD loads/stores, multiply-add, and
// tail-safe partial loads.
//
// Build flags (see docs/matrix-core.md): the default x86-64 target is SSE2 only. There,
// `SIMD8.addProduct` lowers to eight `fmaf` library calls, so the kernels use `acc += a * b`
// (separate multiply and add). Build with
// `-Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DCREDIT_FMA` to get AVX2 + fused
// multiply-add; on arm64 FMA is always available and used.

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
