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
