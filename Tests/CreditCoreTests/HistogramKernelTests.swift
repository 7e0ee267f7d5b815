import Testing
@testable import CreditCore

/// Differential tests of the GBDT gradient-histogram kernel (HistogramKernels.swift): every
/// available copy against the scalar reference, identical bits in every slot and bitmap word.
@Suite struct HistogramKernelTests {
    /// NaN payloads are not compared (which operand x86 keeps depends on operand order).
    static func bits(_ x: Double) -> UInt64 { x.isNaN ? 0x7FF8_0000_0000_0000 : x.bitPattern }

    /// Runs the reference and every copy on the same random case: `rowCount` rows of `nf` bin
    /// columns (bins below `binsPerColumn[c]`), a subset of rows (ascending, repeats allowed),
    /// gradients with special values, some columns dense and some wide; the histogram starts
    /// from random sums (the kernel adds, it does not clear) with the fourth lanes 0.
    static func check<B: FixedWidthInteger & UnsignedInteger>(_: B.Type, seed: UInt64, rowCount: Int, picked: Int,
                                                              run: (UnsafePointer<Int32>, Int, UnsafePointer<Double>, UnsafePointer<B>, Int,
                                                                    HistogramColumns, UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<Double>,
                                                                    KernelVariant) -> Void) -> Int {
        var rng = SplitMix64(seed: seed)
        let nf = 1 + Int(rng.next() % 7)
        let binsPerColumn = (0..<nf).map { _ in 1 + Int(rng.next() % UInt64(min(Int(B.max), 700))) }
        var binTable = [B](repeating: 0, count: rowCount * nf)
        for r in 0..<rowCount { for c in 0..<nf { binTable[r * nf + c] = B(Int(rng.next() % UInt64(binsPerColumn[c]))) } }
        let special: [Double] = [0, -0.0, .infinity, -.infinity, .nan, 1e300, -1e-300, .leastNonzeroMagnitude]
        var gh = (0..<(2 * rowCount)).map { _ in (rng.uniform() * 2 - 1) * 0.5 }
        for i in gh.indices where rng.uniform() < 0.02 { gh[i] = special[Int(rng.next() % UInt64(special.count))] }
        var rows = (0..<picked).map { _ in Int32(rng.next() % UInt64(rowCount)) }
        rows.sort()
        // Columns in a random order, each dense or wide; slots laid out one feature after another.
        let order = (0..<nf).shuffled(using: &rng)
        var dense = [Int](), denseOffsets = [Int](), wide = [Int](), wideOffsets = [Int](), wideBits = [Int]()
        var slot = 0, words = 0
        for c in order {
            if rng.uniform() < 0.4 {
                wide.append(c); wideOffsets.append(slot * 4); wideBits.append(words); words += (binsPerColumn[c] + 63) / 64
            } else {
                dense.append(c); denseOffsets.append(slot * 4)
            }
            slot += binsPerColumn[c] + 1   // + a slot no row reaches, like the missing bin of an unused feature
        }
        var start = [Double](repeating: 0, count: slot * 4)
        for s in 0..<slot where rng.uniform() < 0.5 {
            start[4 * s] = rng.uniform() - 0.5; start[4 * s + 1] = rng.uniform(); start[4 * s + 2] = Double(rng.next() % 9)
        }
        let startBits = (0..<max(words, 1)).map { _ in rng.uniform() < 0.3 ? rng.next() : 0 }
        var want = start, wantBits = startBits
        var out = 0
        rows.withUnsafeBufferPointer { rp in
        gh.withUnsafeBufferPointer { gp in
        binTable.withUnsafeBufferPointer { bp in
        dense.withUnsafeBufferPointer { d in denseOffsets.withUnsafeBufferPointer { dO in
        wide.withUnsafeBufferPointer { w in wideOffsets.withUnsafeBufferPointer { wO in wideBits.withUnsafeBufferPointer { wB in
            let none = UnsafePointer<Int>(bitPattern: 8)!
            let columns = HistogramColumns(dense: d.baseAddress ?? none, denseOffsets: dO.baseAddress ?? none, denseCount: d.count,
                                           wide: w.baseAddress ?? none, wideOffsets: wO.baseAddress ?? none,
                                           wideBits: wB.baseAddress ?? none, wideCount: w.count)
            gradientHistogramReference(rows: rp.baseAddress!, count: picked, gradients: gp.baseAddress!, bins: bp.baseAddress!,
                                       rowStride: nf, columns: columns, bitmap: &wantBits, histogram: &want)
            for variant in availableVariants {
                var got = start, gotBits = startBits
                run(rp.baseAddress!, picked, gp.baseAddress!, bp.baseAddress!, nf, columns, &gotBits, &got, variant)
                #expect(got.map(Self.bits) == want.map(Self.bits), "\(variant) seed \(seed): histogram")
                #expect(gotBits == wantBits, "\(variant) seed \(seed): bitmap")
            }
        }}}}}}}}
        // How many slots the rows changed (the test must not pass on an empty case).
        for s in 0..<slot where want[4 * s + 2] != start[4 * s + 2] { out += 1 }
        #expect(want.enumerated().allSatisfy { $0.offset % 4 != 3 || $0.element.bitPattern == 0 }, "fourth lanes stay +0")
        return out
    }

    @Test("gradientHistogram == gradientHistogramReference bit for bit: one- and two-byte bins, dense and wide, NaN, ±inf, ±0")
    func matchesReference() {
        var changed = 0
        for seed in 0..<60 as Range<UInt64> {
            let rowCount = 1 + Int(seed * 37 % 500), picked = Int(seed * 53 % 700)
            changed += Self.check(UInt8.self, seed: seed, rowCount: rowCount, picked: picked) {
                gradientHistogram(rows: $0, count: $1, gradients: $2, bins: $3, rowStride: $4, columns: $5, bitmap: $6, histogram: $7, variant: $8)
            }
            changed += Self.check(UInt16.self, seed: seed + 1000, rowCount: rowCount, picked: picked) {
                gradientHistogram(rows: $0, count: $1, gradients: $2, bins: $3, rowStride: $4, columns: $5, bitmap: $6, histogram: $7, variant: $8)
            }
        }
        #expect(changed > 5_000, "slots reached: \(changed)")
    }

    @Test("gradientHistogramReference adds g, h and 1 to the row's slot and marks a wide feature's bin")
    func referenceDefinition() {
        // Two rows, one dense column (bins of column 0) and one wide column (column 1).
        let bins: [UInt8] = [2, 65, 0, 1]
        let gh: [Double] = [0.5, 0.25, -1, 2]
        let rows: [Int32] = [0, 1, 1]
        var hist = [Double](repeating: 0, count: 4 * (3 + 70)), bitmap: [UInt64] = [0, 0]
        let dense = [0], denseOffsets = [0], wide = [1], wideOffsets = [12], wideBits = [0]
        dense.withUnsafeBufferPointer { d in denseOffsets.withUnsafeBufferPointer { dO in
        wide.withUnsafeBufferPointer { w in wideOffsets.withUnsafeBufferPointer { wO in wideBits.withUnsafeBufferPointer { wB in
            let columns = HistogramColumns(dense: d.baseAddress!, denseOffsets: dO.baseAddress!, denseCount: 1, wide: w.baseAddress!,
                                           wideOffsets: wO.baseAddress!, wideBits: wB.baseAddress!, wideCount: 1)
            gradientHistogramReference(rows: rows, count: 3, gradients: gh, bins: bins, rowStride: 2, columns: columns,
                                       bitmap: &bitmap, histogram: &hist)
        }}}}}
        #expect(Array(hist[8..<12]) == [0.5, 0.25, 1, 0], "row 0: dense bin 2")
        #expect(Array(hist[0..<4]) == [-2, 4, 2, 0], "row 1 twice: dense bin 0")
        #expect(Array(hist[(12 + 4 * 65)..<(12 + 4 * 66)]) == [0.5, 0.25, 1, 0], "row 0: wide bin 65")
        #expect(Array(hist[16..<20]) == [-2, 4, 2, 0], "row 1 twice: wide bin 1")
        #expect(bitmap == [1 << 1, 1 << 1], "bits 1 and 65")
    }
}
