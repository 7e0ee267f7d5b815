/// Dot product of two Float32 vectors of equal length.
///
/// SIMD shape (as in ggml): four `SIMD8<Float>` accumulators, a reduction, a scalar tail.
/// `dotReference` is the plain loop kept beside it for differential tests.
@inlinable
public func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
    precondition(a.count == b.count, "dot: length mismatch \(a.count) vs \(b.count)")
    let n = a.count
    guard n > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
    var i = 0
    let rawA = UnsafeRawPointer(pa), rawB = UnsafeRawPointer(pb)
    while i + 32 <= n {
        let o = i * MemoryLayout<Float>.stride
        dotMultiplyAdd(&acc0, rawA.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self),
                        rawB.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self))
        dotMultiplyAdd(&acc1, rawA.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self),
                        rawB.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self))
        dotMultiplyAdd(&acc2, rawA.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self),
                        rawB.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self))
        dotMultiplyAdd(&acc3, rawA.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self),
                        rawB.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self))
        i += 32
    }
    while i + 8 <= n {
        let o = i * MemoryLayout<Float>.stride
        dotMultiplyAdd(&acc0, rawA.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self),
                        rawB.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self))
        i += 8
    }
    var sum = ((acc0 + acc1) + (acc2 + acc3)).sum()
    while i < n {
        sum += pa[i] * pb[i]
        i += 1
    }
    return sum
}

/// Scalar reference for `dot`.
public func dotReference(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
    precondition(a.count == b.count)
    var sum: Float = 0
    for i in 0..<a.count { sum += a[i] * b[i] }
    return sum
}

/// `multiplyAdd` (Kernels.swift) repeated here: helpers are only inlined within one file in
/// debug builds (see the note at the top of Kernels.swift).
@inlinable @inline(__always)
func dotMultiplyAdd(_ acc: inout SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) {
    #if CREDIT_FMA || arch(arm64)
    acc.addProduct(a, b)
    #else
    acc += a * b
    #endif
}
