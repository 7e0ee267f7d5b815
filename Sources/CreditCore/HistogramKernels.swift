// The GBDT gradient-histogram kernel (bodies in HistogramKernelBodies.swift, compiled portable
// and for AVX2) with its argument checks, scalar reference and run-time dispatch
// (`Kernels.variant`). CreditModels' GBDTHistograms builds every node's histogram with it.
import CreditCoreHaswell

/// One thread's features of a gradient histogram: which bin column of a row each feature is,
/// where its slots start in the histogram (in Doubles, a multiple of 4), and for wide
/// features the first word of their bitmap.
public struct HistogramColumns {
    /// Dense features: column in a row of bins, first Double of their slots.
    public var dense: UnsafePointer<Int>, denseOffsets: UnsafePointer<Int>, denseCount: Int
    /// Wide features (marked in the bitmap): column, first Double of their slots, first bitmap word.
    public var wide: UnsafePointer<Int>, wideOffsets: UnsafePointer<Int>, wideBits: UnsafePointer<Int>, wideCount: Int

    public init(dense: UnsafePointer<Int>, denseOffsets: UnsafePointer<Int>, denseCount: Int,
                wide: UnsafePointer<Int>, wideOffsets: UnsafePointer<Int>, wideBits: UnsafePointer<Int>, wideCount: Int) {
        self.dense = dense; self.denseOffsets = denseOffsets; self.denseCount = denseCount
        self.wide = wide; self.wideOffsets = wideOffsets; self.wideBits = wideBits; self.wideCount = wideCount
    }
}

/// Adds rows to a GBDT histogram whose slots are 4 Doubles (Σg, Σh, count, 0): for each of the
/// `count` rows r at `rows` (in order) and each feature of `columns`, the slot of bin
/// `bins[r * rowStride + column]` gets g = `gradients[2r]`, h = `gradients[2r + 1]` and 1 added
/// (its fourth lane gets + 0); a wide feature also sets bit b of its bitmap words
/// (`bitmap[wideBits + b / 64]`). Every slot's sums are added in row order by every copy and by
/// `gradientHistogramReference`, so all give the same bits. Slots are not cleared first.
/// Allocates nothing.
public func gradientHistogram(rows: UnsafePointer<Int32>, count: Int, gradients: UnsafePointer<Double>, bins: UnsafePointer<UInt16>,
                              rowStride: Int, columns c: HistogramColumns, bitmap: UnsafeMutablePointer<UInt64>,
                              histogram: UnsafeMutablePointer<Double>, variant: KernelVariant = Kernels.variant) {
    precondition(count >= 0 && rowStride > 0, "gradientHistogram: count \(count), row stride \(rowStride)")
    precondition(Kernels.isAvailable(variant), "gradientHistogram: kernel variant \(variant) is not available on this CPU")
    switch variant {
    case .portable:
        CreditCore.gradientHistogramKernel16(rows: rows, count: count, gradients: gradients, bins: bins, rowStride: rowStride,
                                             dense: c.dense, denseOffsets: c.denseOffsets, denseCount: c.denseCount, wide: c.wide,
                                             wideOffsets: c.wideOffsets, wideBits: c.wideBits, wideCount: c.wideCount,
                                             bitmap: bitmap, histogram: histogram)
    case .haswell:
        CreditCoreHaswell.gradientHistogramKernel16(rows: rows, count: count, gradients: gradients, bins: bins, rowStride: rowStride,
                                                    dense: c.dense, denseOffsets: c.denseOffsets, denseCount: c.denseCount, wide: c.wide,
                                                    wideOffsets: c.wideOffsets, wideBits: c.wideBits, wideCount: c.wideCount,
                                                    bitmap: bitmap, histogram: histogram)
    }
}

/// `gradientHistogram` over one-byte bins.
public func gradientHistogram(rows: UnsafePointer<Int32>, count: Int, gradients: UnsafePointer<Double>, bins: UnsafePointer<UInt8>,
                              rowStride: Int, columns c: HistogramColumns, bitmap: UnsafeMutablePointer<UInt64>,
                              histogram: UnsafeMutablePointer<Double>, variant: KernelVariant = Kernels.variant) {
    precondition(count >= 0 && rowStride > 0, "gradientHistogram: count \(count), row stride \(rowStride)")
    precondition(Kernels.isAvailable(variant), "gradientHistogram: kernel variant \(variant) is not available on this CPU")
    switch variant {
    case .portable:
        CreditCore.gradientHistogramKernel8(rows: rows, count: count, gradients: gradients, bins: bins, rowStride: rowStride,
                                            dense: c.dense, denseOffsets: c.denseOffsets, denseCount: c.denseCount, wide: c.wide,
                                            wideOffsets: c.wideOffsets, wideBits: c.wideBits, wideCount: c.wideCount,
                                            bitmap: bitmap, histogram: histogram)
    case .haswell:
        CreditCoreHaswell.gradientHistogramKernel8(rows: rows, count: count, gradients: gradients, bins: bins, rowStride: rowStride,
                                                   dense: c.dense, denseOffsets: c.denseOffsets, denseCount: c.denseCount, wide: c.wide,
                                                   wideOffsets: c.wideOffsets, wideBits: c.wideBits, wideCount: c.wideCount,
                                                   bitmap: bitmap, histogram: histogram)
    }
}

/// Scalar reference of `gradientHistogram` (any bin width): three scalar adds per slot.
public func gradientHistogramReference<B: FixedWidthInteger & UnsignedInteger>(
    rows: UnsafePointer<Int32>, count: Int, gradients: UnsafePointer<Double>, bins: UnsafePointer<B>, rowStride: Int,
    columns c: HistogramColumns, bitmap: UnsafeMutablePointer<UInt64>, histogram: UnsafeMutablePointer<Double>
) {
    for i in 0..<count {
        let r = Int(rows[i])
        let g = gradients[2 * r], h = gradients[2 * r + 1]
        for k in 0..<(c.denseCount + c.wideCount) {
            let isWide = k >= c.denseCount, j = isWide ? k - c.denseCount : k
            let b = Int(bins[r * rowStride + (isWide ? c.wide[j] : c.dense[j])])
            let s = (isWide ? c.wideOffsets[j] : c.denseOffsets[j]) + 4 * b
            if isWide { bitmap[c.wideBits[j] + b / 64] |= 1 << UInt64(b % 64) }
            histogram[s] += g; histogram[s + 1] += h; histogram[s + 2] += 1
        }
    }
}
