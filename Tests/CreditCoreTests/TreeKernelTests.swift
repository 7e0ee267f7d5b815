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

    @Test("obliviousLogits == obliviousLogitsReference bit for bit: depths 0–12, rows 1…64, K 0 and 0xFFFE, all slot values")
    func obliviousLogitsMatchesReference() {
        var rng = SplitMix64(seed: 61)
        let block = 64, slots = 9
        for round in 0..<40 {
            // A quantized block: extreme slot values (0, 0xFFFF) and random ones.
            let q = (0..<(slots * block)).map { _ -> UInt16 in
                switch rng.next() % 6 { case 0: 0; case 1: 0xFFFF; case 2: 0xFFFE; default: UInt16(truncatingIfNeeded: rng.next() % 40) }
            }
            let trees = Int(rng.next() % 70) + 1
            var depth: [Int32] = [], starts: [Int32] = [], offs: [UInt32] = [], ks: [UInt16] = [], leafStart: [Int32] = []
            var leafCount = 0
            for _ in 0..<trees {
                let D = round == 0 ? 12 : Int(rng.next() % 9)   // uneven depths, 0 included
                depth.append(Int32(D)); starts.append(Int32(offs.count)); leafStart.append(Int32(leafCount))
                for _ in 0..<D {
                    offs.append(UInt32(Int(rng.next() % UInt64(slots)) * block))
                    ks.append([0, 0xFFFE, UInt16(truncatingIfNeeded: rng.next() % 40)][Int(rng.next() % 3)])
                }
                leafCount += 1 << D
            }
            let values = (0..<leafCount).map { _ in rng.uniform() * 2 - 1 }
            for rows in [1, 2, 7, 15, 16, 17, 31, 33, 63, 64] {
                var want = [Double](repeating: 0.25, count: block), wantLeaves = [Int32](repeating: -1, count: block * trees)
                obliviousLogitsReference(q: q, rows: rows, trees: trees, depth: depth, levelStart: starts, levelOffset: offs, levelK: ks,
                                         leafStart: leafStart, leafValue: values, acc: &want, leaves: &wantLeaves, leavesStride: trees)
                for variant in availableVariants {
                    var got = [Double](repeating: 0.25, count: block), gotLeaves = [Int32](repeating: -1, count: block * trees)
                    obliviousLogits(q: q, rows: rows, trees: trees, depth: depth, levelStart: starts, levelOffset: offs, levelK: ks,
                                    leafStart: leafStart, leafValue: values, acc: &got, leaves: &gotLeaves, leavesStride: trees,
                                    variant: variant)
                    #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(variant) round \(round) rows \(rows)")
                    #expect(gotLeaves == wantLeaves, "\(variant) round \(round) rows \(rows): leaves")
                }
                // Rows past `rows` are untouched; every recorded leaf is within its tree.
                #expect(want[rows...].allSatisfy { $0 == 0.25 })
                for r in 0..<rows { for t in 0..<trees { #expect(wantLeaves[r * trees + t] >= 0 && wantLeaves[r * trees + t] < 1 << depth[t]) } }
            }
        }
    }

    @Test("heapLogits == heapLogitsReference bit for bit: uneven depths 0–12, padding (K 0xFFFF), rows 1…64, extreme slot values")
    func heapLogitsMatchesReference() {
        var rng = SplitMix64(seed: 77)
        let block = 64, slots = 11
        let workBytes = heapLogitsWorkBytes(maxDepth: 12)
        let work = UnsafeMutableRawPointer.allocate(byteCount: workBytes, alignment: 32)
        defer { work.deallocate() }
        var zeroKinds = 0, skipKinds = 0   // the kernel's padding paths are taken
        defer { #expect(zeroKinds > 100 && skipKinds > 100, "zero \(zeroKinds), skip \(skipKinds)") }
        for round in 0..<40 {
            let q = (0..<(slots * block)).map { _ -> UInt16 in
                switch rng.next() % 6 { case 0: 0; case 1: 0xFFFF; case 2: 0xFFFE; default: UInt16(truncatingIfNeeded: rng.next() % 40) }
            }
            let trees = Int(rng.next() % 60) + 1
            var depth: [Int32] = [], starts: [Int32] = [], offs: [UInt32] = [], ks: [UInt16] = [], leafStart: [Int32] = []
            var leafCount = 0
            for t in 0..<trees {
                // Uneven depths, 0 included; the first round has a depth-12 tree.
                let D = round == 0 && t == 0 ? 12 : Int(rng.next() % 9)
                depth.append(Int32(D)); starts.append(Int32(offs.count)); leafStart.append(Int32(leafCount))
                offs.append(0); ks.append(0)   // heap position 0 is unused
                for _ in 1..<max(1 << D, 1) {
                    offs.append(UInt32(Int(rng.next() % UInt64(slots)) * block))
                    // 0xFFFF: a padding node (always left); 0xFFFE: right only for 0xFFFF.
                    ks.append([0, 0xFFFE, 0xFFFF, UInt16(truncatingIfNeeded: rng.next() % 40)][Int(rng.next() % 4)])
                }
                leafCount += 1 << D
            }
            let values = (0..<leafCount).map { _ in rng.uniform() * 2 - 1 }
            let kinds = heapNodeKinds(nodeK: ks, count: ks.count, trees: trees, depth: depth, nodeStart: starts)
            zeroKinds += kinds.filter { $0 == 1 }.count; skipKinds += kinds.filter { $0 == 2 }.count
            for rows in [1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 48, 63, 64] {
                var want = [Double](repeating: 0.25, count: block), wantLeaves = [Int32](repeating: -1, count: block * trees)
                heapLogitsReference(q: q, rows: rows, trees: trees, depth: depth, nodeStart: starts, nodeOffset: offs, nodeK: ks,
                                    leafStart: leafStart, leafValue: values, acc: &want, leaves: &wantLeaves, leavesStride: trees)
                for variant in availableVariants {
                    var got = [Double](repeating: 0.25, count: block), gotLeaves = [Int32](repeating: -1, count: block * trees)
                    heapLogits(q: q, rows: rows, trees: trees, depth: depth, nodeStart: starts, nodeOffset: offs, nodeK: ks,
                               nodeKind: kinds, leafStart: leafStart, leafValue: values, acc: &got, leaves: &gotLeaves, leavesStride: trees,
                               work: work, workBytes: workBytes, variant: variant)
                    #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(variant) round \(round) rows \(rows)")
                    #expect(gotLeaves == wantLeaves, "\(variant) round \(round) rows \(rows): leaves")
                }
                #expect(want[rows...].allSatisfy { $0 == 0.25 })
                #expect(wantLeaves[(rows * trees)...].allSatisfy { $0 == -1 })
                // The reference's leaf is the walk's: each step follows the compare, padding goes left.
                let r = Int(rng.next() % UInt64(rows)), t = Int(rng.next() % UInt64(trees))
                var i = 1
                for _ in 0..<Int(depth[t]) {
                    let n = Int(starts[t]) + i
                    i = ks[n] == 0xFFFF ? 2 * i : (q[Int(offs[n]) + r] > ks[n] ? 2 * i + 1 : 2 * i)
                }
                #expect(wantLeaves[r * trees + t] == Int32(i - (1 << depth[t])))
            }
        }
    }

    @Test("maskBits == maskBitsReference: rows 0…64, 0…40 masks (0, 0xFFFF, one-hot, random), nothing written outside")
    func maskBitsMatchesReference() {
        var rng = SplitMix64(seed: 5)
        let stride = 64
        for rows in [0, 1, 7, 15, 16, 17, 31, 32, 33, 48, 63, 64] {
            for count in [0, 1, 2, 5, 40] {
                let bits = (0..<stride).map { _ in UInt16(1) << UInt16(rng.next() % 16) }
                let masks = (0..<max(count, 1)).map { _ -> UInt16 in
                    switch rng.next() % 4 { case 0: 0; case 1: 0xFFFF; case 2: UInt16(1) << UInt16(rng.next() % 16); default: UInt16(truncatingIfNeeded: rng.next()) }
                }
                var want = [UInt16](repeating: 7, count: stride * max(count, 1))
                maskBitsReference(bits, rows: rows, masks: masks, count: count, &want, stride: stride)
                for variant in availableVariants {
                    var got = [UInt16](repeating: 7, count: stride * max(count, 1))
                    maskBits(bits, rows: rows, masks: masks, count: count, &got, stride: stride, variant: variant)
                    #expect(got == want, "\(variant) rows \(rows) count \(count)")
                }
                for k in 0..<count {
                    for r in 0..<stride {
                        let v = want[k * stride + r]
                        #expect(r < rows ? v == (bits[r] & masks[k] != 0 ? 1 : 0) : v == 7)
                    }
                }
            }
        }
    }
}
