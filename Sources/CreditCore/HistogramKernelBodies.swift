// The GBDT gradient-histogram kernel BODIES, compiled twice from this one file like
// SplitKernelBodies.swift (raw pointers and Ints only, `package` `@inline(never)` entry
// points; Sources/CreditCoreHaswell/HistogramKernelBodies.swift is a symlink to this file,
// compiled for AVX2). HistogramKernels.swift checks the arguments, holds the scalar reference
// and dispatches on `Kernels.variant`. A row's (g, h, 1, 0) is added to its slot as one SIMD4
// (one 256-bit add with AVX2, two 128-bit adds portable): lane for lane the reference's adds,
// in row order, so every copy gives its bits.

@inline(__always)
private func histogramBody<B: FixedWidthInteger & UnsignedInteger>(
    rows: UnsafePointer<Int32>, count: Int, gradients: UnsafePointer<Double>, bins: UnsafePointer<B>, rowStride: Int,
    dense: UnsafePointer<Int>, denseOffsets: UnsafePointer<Int>, denseCount: Int,
    wide: UnsafePointer<Int>, wideOffsets: UnsafePointer<Int>, wideBits: UnsafePointer<Int>, wideCount: Int,
    bitmap: UnsafeMutablePointer<UInt64>, histogram: UnsafeMutablePointer<Double>
) {
    let ghRaw = UnsafeRawPointer(gradients), histRaw = UnsafeMutableRawPointer(histogram)
    var i = 0
    while i < count {
        let r = Int(rows[i])
        let gh = ghRaw.loadUnaligned(fromByteOffset: r &* 16, as: SIMD2<Double>.self)
        let add = SIMD4<Double>(lowHalf: gh, highHalf: SIMD2<Double>(1, 0))
        let row = bins + r &* rowStride
        var k = 0
        while k < denseCount {
            let byte = (denseOffsets[k] &+ Int(row[dense[k]]) &<< 2) &<< 3
            let acc = histRaw.loadUnaligned(fromByteOffset: byte, as: SIMD4<Double>.self) + add
            histRaw.storeBytes(of: acc, toByteOffset: byte, as: SIMD4<Double>.self)
            k &+= 1
        }
        k = 0
        while k < wideCount {
            let b = Int(row[wide[k]])
            bitmap[wideBits[k] &+ (b &>> 6)] |= 1 &<< UInt64(b & 63)
            let byte = (wideOffsets[k] &+ b &<< 2) &<< 3
            let acc = histRaw.loadUnaligned(fromByteOffset: byte, as: SIMD4<Double>.self) + add
            histRaw.storeBytes(of: acc, toByteOffset: byte, as: SIMD4<Double>.self)
            k &+= 1
        }
        i &+= 1
    }
}

/// Body of `gradientHistogram` over one-byte bins.
@inline(never)
package func gradientHistogramKernel8(
    rows: UnsafePointer<Int32>, count: Int, gradients: UnsafePointer<Double>, bins: UnsafePointer<UInt8>, rowStride: Int,
    dense: UnsafePointer<Int>, denseOffsets: UnsafePointer<Int>, denseCount: Int,
    wide: UnsafePointer<Int>, wideOffsets: UnsafePointer<Int>, wideBits: UnsafePointer<Int>, wideCount: Int,
    bitmap: UnsafeMutablePointer<UInt64>, histogram: UnsafeMutablePointer<Double>
) {
    histogramBody(rows: rows, count: count, gradients: gradients, bins: bins, rowStride: rowStride, dense: dense,
                  denseOffsets: denseOffsets, denseCount: denseCount, wide: wide, wideOffsets: wideOffsets, wideBits: wideBits,
                  wideCount: wideCount, bitmap: bitmap, histogram: histogram)
}

/// Body of `gradientHistogram` over two-byte bins.
@inline(never)
package func gradientHistogramKernel16(
    rows: UnsafePointer<Int32>, count: Int, gradients: UnsafePointer<Double>, bins: UnsafePointer<UInt16>, rowStride: Int,
    dense: UnsafePointer<Int>, denseOffsets: UnsafePointer<Int>, denseCount: Int,
    wide: UnsafePointer<Int>, wideOffsets: UnsafePointer<Int>, wideBits: UnsafePointer<Int>, wideCount: Int,
    bitmap: UnsafeMutablePointer<UInt64>, histogram: UnsafeMutablePointer<Double>
) {
    histogramBody(rows: rows, count: count, gradients: gradients, bins: bins, rowStride: rowStride, dense: dense,
                  denseOffsets: denseOffsets, denseCount: denseCount, wide: wide, wideOffsets: wideOffsets, wideBits: wideBits,
                  wideCount: wideCount, bitmap: bitmap, histogram: histogram)
}
