import Testing
import Foundation
@testable import CreditCore

extension SplitMix64 {
    /// `n` seeded test values in [-1, 1].
    mutating func floats(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -1...1, using: &self) } }
}

/// |a - b| <= tol * (1 + scale), NaN/inf must match exactly in kind.
func close(_ a: Float, _ b: Float, scale: Float, tol: Float = 1e-5) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a.isInfinite || b.isInfinite { return a == b }
    return abs(a - b) <= tol * (1 + scale)
}

@Suite struct DenseKernelTests {
    @Test func packRoundTripAndTranspose() {
        var rng = SplitMix64(seed: 1)
        for (k, n) in [(1, 1), (3, 17), (26, 128), (33, 5), (16, 16)] {
            let w = rng.floats(k * n)
            let p = PackedMatrix(k: k, n: n, rowMajor: w)
            #expect(p.rowMajor() == w)
            let t = p.transposed()
            for i in 0..<k { for j in 0..<n { #expect(t[j, i] == p[i, j]) } }
            #expect(t.transposed() == p)
        }
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func forwardMatchesReference(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<12 {
            let k = Int.random(in: 1...70, using: &rng), n = Int.random(in: 1...70, using: &rng)
            let total = Int.random(in: 1...23, using: &rng)
            let lo = Int.random(in: 0..<total, using: &rng)
            let rows = lo..<total
            let inStride = k + Int.random(in: 0...3, using: &rng), outStride = n + Int.random(in: 0...3, using: &rng)
            let x = rng.floats(total * inStride), w = rng.floats(k * n), b = rng.floats(n)
            let act: Activation = Bool.random(using: &rng) ? .relu : .identity
            let useBias = Bool.random(using: &rng)
            let packed = PackedMatrix(k: k, n: n, rowMajor: w)
            var want = [Float](repeating: 7, count: total * outStride)
            x.withUnsafeBufferPointer { xb in
                want.withUnsafeMutableBufferPointer { ob in
                    denseForwardReference(xb, inputStride: inStride, weights: w, k: k, n: n, bias: useBias ? b : nil,
                                          activation: act, ob, outputStride: outStride, rows: rows)
                }
            }
            // The dispatched kernel and every copy this CPU can run (KernelDispatchTests checks
            // that the haswell copy is among them exactly when the CPU has AVX2+FMA).
            for variant in [nil] + availableVariants {
                var got = [Float](repeating: 7, count: total * outStride)
                x.withUnsafeBufferPointer { xb in
                    b.withUnsafeBufferPointer { bb in
                        got.withUnsafeMutableBufferPointer { ob in
                            if let variant {
                                denseForward(xb, inputStride: inStride, weights: packed, bias: useBias ? bb : nil,
                                             activation: act, ob, outputStride: outStride, rows: rows, variant: variant)
                            } else {
                                denseForward(xb, inputStride: inStride, weights: packed, bias: useBias ? bb : nil,
                                             activation: act, ob, outputStride: outStride, rows: rows)
                            }
                        }
                    }
                }
                let label = variant?.rawValue ?? "dispatched"
                for i in 0..<got.count {
                    #expect(close(got[i], want[i], scale: Float(k)), "\(label) k=\(k) n=\(n) rows=\(rows) i=\(i): \(got[i]) vs \(want[i])")
                }
                // Rows outside the range and padding columns are untouched.
                for r in 0..<lo { for j in 0..<outStride { #expect(got[r * outStride + j] == 7, "\(label)") } }
                for r in rows { for j in n..<outStride { #expect(got[r * outStride + j] == 7, "\(label)") } }
            }
        }
    }

    @Test(arguments: KernelVariant.allCases.filter(Kernels.isAvailable))
    func forwardResultDoesNotDependOnBatchPosition(variant: KernelVariant) {
        var rng = SplitMix64(seed: 5)
        for (k, n) in [(26, 128), (130, 70), (7, 1), (64, 33)] {
            let rows = 11
            let x = rng.floats(rows * k), w = PackedMatrix(k: k, n: n, rowMajor: rng.floats(k * n)), b = rng.floats(n)
            var batched = [Float](repeating: 0, count: rows * n), single = batched
            x.withUnsafeBufferPointer { xb in
                b.withUnsafeBufferPointer { bb in
                    batched.withUnsafeMutableBufferPointer {
                        denseForward(xb, inputStride: k, weights: w, bias: bb, activation: .relu, $0, outputStride: n, rows: 0..<rows,
                                     variant: variant)
                    }
                    single.withUnsafeMutableBufferPointer { ob in
                        for r in 0..<rows {
                            denseForward(xb, inputStride: k, weights: w, bias: bb, activation: .relu, ob, outputStride: n,
                                         rows: r..<(r + 1), variant: variant)
                        }
                    }
                }
            }
            #expect(batched.map(\.bitPattern) == single.map(\.bitPattern), "k=\(k) n=\(n)")
        }
    }

    @Test(arguments: KernelVariant.allCases.filter(Kernels.isAvailable))
    func forwardPropagatesNaNAndInfinityLikeReference(variant: KernelVariant) {
        var rng = SplitMix64(seed: 99)
        for (k, n, rowsCount) in [(26, 128, 5), (5, 3, 1), (17, 33, 9)] {
            var x = rng.floats(rowsCount * k)
            x[0] = .nan
            if rowsCount > 1 { x[k + min(2, k - 1)] = .infinity }
            if rowsCount > 2 { x[2 * k] = -.infinity; x[2 * k + min(1, k - 1)] = .infinity }
            let w = rng.floats(k * n), b = rng.floats(n)
            let packed = PackedMatrix(k: k, n: n, rowMajor: w)
            for act in [Activation.identity, .relu] {
                var got = [Float](repeating: 0, count: rowsCount * n), want = got
                x.withUnsafeBufferPointer { xb in
                    b.withUnsafeBufferPointer { bb in
                        got.withUnsafeMutableBufferPointer {
                            denseForward(xb, inputStride: k, weights: packed, bias: bb, activation: act, $0, outputStride: n,
                                         rows: 0..<rowsCount, variant: variant)
                        }
                    }
                    want.withUnsafeMutableBufferPointer {
                        denseForwardReference(xb, inputStride: k, weights: w, k: k, n: n, bias: b, activation: act, $0, outputStride: n, rows: 0..<rowsCount)
                    }
                }
                for i in 0..<got.count { #expect(close(got[i], want[i], scale: Float(k)), "\(act) i=\(i): \(got[i]) vs \(want[i])") }
                #expect(got[0].isNaN) // NaN input reaches every output of its row, also through ReLU
            }
        }
    }

    @Test(arguments: [UInt64(11), 12, 13, 14, 15, 16])
    func weightGradientMatchesReference(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<10 {
            let k = Int.random(in: 1...70, using: &rng), n = Int.random(in: 1...70, using: &rng)
            let total = Int.random(in: 1...40, using: &rng)
            let lo = Int.random(in: 0..<total, using: &rng)
            let inStride = k + Int.random(in: 0...2, using: &rng), dStride = n + Int.random(in: 0...2, using: &rng)
            let x = rng.floats(total * inStride), d = rng.floats(total * dStride)
            let start = rng.floats(k * n)
            var want = start
            x.withUnsafeBufferPointer { xb in
                d.withUnsafeBufferPointer { db in
                    denseWeightGradientReference(xb, inputStride: inStride, db, dOutStride: dStride, gradient: &want, k: k, n: n, rows: lo..<total)
                }
            }
            for variant in [nil] + availableVariants {
                var packed = PackedMatrix(k: k, n: n, rowMajor: start)
                x.withUnsafeBufferPointer { xb in
                    d.withUnsafeBufferPointer { db in
                        if let variant {
                            denseWeightGradient(xb, inputStride: inStride, db, dOutStride: dStride, gradient: &packed, rows: lo..<total,
                                                variant: variant)
                        } else {
                            denseWeightGradient(xb, inputStride: inStride, db, dOutStride: dStride, gradient: &packed, rows: lo..<total)
                        }
                    }
                }
                let label = variant?.rawValue ?? "dispatched"
                let got = packed.rowMajor()
                for i in 0..<got.count { #expect(close(got[i], want[i], scale: Float(total)), "\(label) k=\(k) n=\(n) i=\(i)") }
                // Padding stays zero.
                for p in 0..<packed.panels { for i in 0..<k { for jj in 0..<16 where p * 16 + jj >= n {
                    #expect(packed.storage[p * k * 16 + i * 16 + jj] == 0, "\(label)")
                } } }
            }
        }
    }

    @Test func inputGradientThroughTransposedForward() {
        // dIn = dOut · Wᵀ computed with denseForward(Wᵀ) against the scalar definition.
        var rng = SplitMix64(seed: 21)
        for (k, n, rows) in [(26, 128, 7), (64, 1, 5), (13, 70, 3)] {
            let w = rng.floats(k * n), d = rng.floats(rows * n)
            let t = PackedMatrix(k: k, n: n, rowMajor: w).transposed()
            var got = [Float](repeating: 0, count: rows * k)
            d.withUnsafeBufferPointer { db in
                got.withUnsafeMutableBufferPointer {
                    denseForward(db, inputStride: n, weights: t, bias: nil, activation: .identity, $0, outputStride: k, rows: 0..<rows)
                }
            }
            for r in 0..<rows { for i in 0..<k {
                var s: Float = 0
                for j in 0..<n { s += d[r * n + j] * w[i * n + j] }
                #expect(close(got[r * k + i], s, scale: Float(n)))
            } }
        }
    }

    @Test(arguments: [UInt64(31), 32, 33])
    func columnSumsAndReluBackwardMatchReference(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<15 {
            let cols = Int.random(in: 1...70, using: &rng), stride = cols + Int.random(in: 0...3, using: &rng)
            let total = Int.random(in: 1...30, using: &rng), lo = Int.random(in: 0..<total, using: &rng)
            var m = rng.floats(total * stride)
            m[Int.random(in: 0..<m.count, using: &rng)] = .nan
            m[Int.random(in: 0..<m.count, using: &rng)] = .infinity
            var got = rng.floats(cols), want = got
            m.withUnsafeBufferPointer { mb in
                got.withUnsafeMutableBufferPointer { columnSums(mb, stride: stride, columns: cols, into: $0, rows: lo..<total) }
                want.withUnsafeMutableBufferPointer { columnSumsReference(mb, stride: stride, columns: cols, into: $0, rows: lo..<total) }
            }
            for j in 0..<cols { #expect(close(got[j], want[j], scale: Float(total))) }
            let grad = rng.floats(total * stride)
            var g1 = grad, g2 = grad
            m.withUnsafeBufferPointer { mb in
                g1.withUnsafeMutableBufferPointer { reluBackward(mb, $0, stride: stride, columns: cols, rows: lo..<total) }
                g2.withUnsafeMutableBufferPointer { reluBackwardReference(mb, $0, stride: stride, columns: cols, rows: lo..<total) }
            }
            #expect(g1 == g2)
        }
    }
}

@Suite struct ReductionKernelTests {
    @Test func reductionsMatchReference() {
        var rng = SplitMix64(seed: 41)
        for n in 0...70 {
            let x = rng.floats(n)
            x.withUnsafeBufferPointer { xb in
                #expect(close(sum(xb), sumReference(xb), scale: Float(n)))
                #expect(maximum(xb) == maximumReference(xb))
                #expect(close(dot(xb, xb), dotReference(xb, xb), scale: Float(n)))
                let lse = logSumExp(xb)
                if n == 0 { #expect(lse == -.infinity) } else {
                    var s = 0.0
                    for v in x { s += Foundation.exp(Double(v)) }
                    #expect(abs(Double(lse) - Foundation.log(s)) < 1e-5)
                }
            }
            let y = rng.floats(n)
            var y1 = y, y2 = y
            x.withUnsafeBufferPointer { xb in
                y1.withUnsafeMutableBufferPointer { axpy(0.37, xb, $0) }
                y2.withUnsafeMutableBufferPointer { axpyReference(0.37, xb, $0) }
            }
            for i in 0..<n { #expect(close(y1[i], y2[i], scale: 1)) }
        }
    }

    @Test func reductionsWithNaNAndInfinity() {
        var rng = SplitMix64(seed: 42)
        for n in [1, 7, 8, 9, 16, 33, 70] {
            for special in [Float.nan, .infinity, -.infinity] {
                for pos in Set([0, n / 2, n - 1]) {
                    var x = rng.floats(n)
                    x[pos] = special
                    x.withUnsafeBufferPointer { xb in
                        #expect(close(sum(xb), sumReference(xb), scale: Float(n)), "sum n=\(n) \(special)@\(pos)")
                        let m = maximum(xb), mr = maximumReference(xb)
                        #expect(m == mr || (m.isNaN && mr.isNaN), "max n=\(n) \(special)@\(pos)")
                        #expect(close(dot(xb, xb), dotReference(xb, xb), scale: Float(n)))
                    }
                }
            }
        }
    }
}
