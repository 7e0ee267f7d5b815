import Testing
@testable import CreditCore

/// Differential tests of the tree kernels (TreeKernels.swift): every available copy against
/// its scalar reference, identical bits.
@Suite struct TreeKernelTests {
    static func bits(_ x: Double) -> UInt64 { x.isNaN ? 0x7FF8_0000_0000_0000 : x.bitPattern }

    @Test("leafRowSum == leafRowSumReference bit for bit: strides 4…40, 0…300 rows, NaN, ±inf, ±0 in the table")
    func leafRowSumMatchesReference() {
        var rng = SplitMix64(seed: 16)
        let special: [Double] = [.nan, .infinity, -.infinity, 0, -0.0, 1e300, -1e-300, .leastNonzeroMagnitude]
        for stride in Swift.stride(from: 4, through: 40, by: 4) {
            let rowsPerTree = 64, trees = 300
            var table = (0..<(rowsPerTree * trees * stride)).map { _ in rng.uniform() * 2 - 1 }
            for i in table.indices where rng.uniform() < 0.002 { table[i] = special[Int(rng.next() % UInt64(special.count))] }
            let base = (0..<trees).map { Int32($0 * rowsPerTree) }
            for count in [0, 1, 2, 3, 7, 8, 64, 263, 264, 300] {
                let offset = (0..<trees).map { _ in Int32(rng.next() % UInt64(rowsPerTree)) }
                var want = [Double](repeating: 7, count: stride + 1)
                table.withUnsafeBufferPointer { tb in
                    leafRowSumReference(tb.baseAddress!, stride: stride, base: base, offset: offset, count: count, &want)
                }
                for variant in availableVariants {
                    var got = [Double](repeating: 7, count: stride + 1)
                    table.withUnsafeBufferPointer { tb in
                        leafRowSum(tb.baseAddress!, stride: stride, base: base, offset: offset, count: count, &got, variant: variant)
                    }
                    // Same bits; a NaN is any NaN (the compiler may commute an add, which picks the payload).
                    #expect(got.map(Self.bits) == want.map(Self.bits), "\(variant) stride \(stride) count \(count)")
                    #expect(got[stride] == 7, "\(variant) wrote past the stride")
                }
                // The reference is the plain definition: (Σ even) + (Σ odd) of the selected rows.
                if count > 0 {
                    let c = Int(rng.next() % UInt64(stride))
                    var even = 0.0, odd = 0.0
                    for t in 0..<count {
                        let v = table[(Int(base[t]) + Int(offset[t])) * stride + c]
                        if t % 2 == 0 { even += v } else { odd += v }
                    }
                    #expect((even + odd).bitPattern == want[c].bitPattern || (even + odd).isNaN && want[c].isNaN)
                }
            }
        }
    }
}
