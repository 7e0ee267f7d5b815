import Testing
import Foundation
@testable import CreditCore

/// The kernel copies this CPU can run (portable always; haswell with AVX2+FMA). The kernel
/// tests run every one of them; `KernelDispatchTests.haswellAvailableExactlyWhenCPUHasAVX2AndFMA`
/// pins this list to the CPU's flags, so a missing haswell copy is a failure, not a skip.
let availableVariants: [KernelVariant] = KernelVariant.allCases.filter(Kernels.isAvailable)

/// AVX2 and FMA according to the kernel (Linux `/proc/cpuinfo`), nil where it cannot be read.
func cpuinfoHasAVX2AndFMA() -> Bool? {
    #if os(Linux)
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
    let flags = Set(line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init))
    return flags.contains("avx2") && flags.contains("fma")
    #else
    return nil
    #endif
}

@Suite struct KernelDispatchTests {
    @Test func haswellAvailableExactlyWhenCPUHasAVX2AndFMA() throws {
        #expect(Kernels.isAvailable(.portable))
        #expect(availableVariants.first == .portable)
        #if arch(x86_64)
        #if os(Linux)
        let flags = try #require(cpuinfoHasAVX2AndFMA(), "no flags line in /proc/cpuinfo")
        #expect(Kernels.cpuHasAVX2AndFMA == flags, "CCPUFeatures says \(Kernels.cpuHasAVX2AndFMA), /proc/cpuinfo says \(flags)")
        #endif
        #expect(Kernels.isAvailable(.haswell) == Kernels.cpuHasAVX2AndFMA)
        #expect(availableVariants == (Kernels.cpuHasAVX2AndFMA ? [.portable, .haswell] : [.portable]))
        #else
        #expect(!Kernels.isAvailable(.haswell))
        #expect(availableVariants == [.portable])
        #endif
    }

    @Test func processDecisionFollowsTheRuleAndTheEnvironment() {
        let env = ProcessInfo.processInfo.environment[Kernels.environmentVariable]
        let expected = Kernels.resolve(override: env, haswellAvailable: Kernels.isAvailable(.haswell))
        #expect(Kernels.variant == expected.variant)
        #expect(Kernels.summary == expected.reason)
        #expect(Kernels.summary.hasPrefix(Kernels.variant.rawValue + ":"))
        // Whatever the override, the chosen copy can run here: a CPU without AVX2 (a CI
        // machine, say) ends up on portable.
        #expect(Kernels.isAvailable(Kernels.variant))
        if !Kernels.isAvailable(.haswell) { #expect(Kernels.variant == .portable) }
        if env == nil && Kernels.isAvailable(.haswell) { #expect(Kernels.variant == .haswell) }
    }

    @Test func overrideRule() {
        for available in [false, true] {
            let detected: KernelVariant = available ? .haswell : .portable
            #expect(Kernels.resolve(override: nil, haswellAvailable: available).variant == detected)
            #expect(Kernels.resolve(override: "auto", haswellAvailable: available).variant == detected)
            #expect(Kernels.resolve(override: "portable", haswellAvailable: available).variant == .portable)
            #expect(Kernels.resolve(override: " Portable ", haswellAvailable: available).variant == .portable)
            let unknown = Kernels.resolve(override: "avx512", haswellAvailable: available)
            #expect(unknown.variant == detected)
            #expect(unknown.reason.contains("unknown CREDIT_KERNELS=avx512"))
        }
        #expect(Kernels.resolve(override: "haswell", haswellAvailable: true).variant == .haswell)
        // Forcing haswell on a CPU without AVX2+FMA falls back instead of trapping (SIGILL).
        let fallback = Kernels.resolve(override: "haswell", haswellAvailable: false)
        #expect(fallback.variant == .portable)
        #expect(fallback.reason.contains("ignored"))
    }

    /// `bias + x·w` with `x = w = 1 + 2⁻¹²`, `bias = −(1 + 2⁻¹¹)`: the exact product is
    /// `1 + 2⁻¹¹ + 2⁻²⁴`, which rounds to `1 + 2⁻¹¹` in Float, so a separate multiply and add
    /// gives 0 and a fused one gives 2⁻²⁴. Proves which copy ran and that the haswell flags
    /// reached the compiler (in every lane and every kernel path: 1 row, 4 rows, 64+ columns).
    @Test func haswellCopyFusesAndPortableDoesNot() {
        let x: Float = 1 + 0x1p-12, b: Float = -(1 + 0x1p-11)
        for (rows, n) in [(1, 1), (1, 70), (4, 16), (5, 33)] {
            let input = [Float](repeating: x, count: rows)
            let w = PackedMatrix(k: 1, n: n, rowMajor: [Float](repeating: x, count: n))
            let bias = [Float](repeating: b, count: n)
            for variant in availableVariants {
                var out = [Float](repeating: 9, count: rows * n)
                input.withUnsafeBufferPointer { xb in
                    bias.withUnsafeBufferPointer { bb in
                        out.withUnsafeMutableBufferPointer {
                            denseForward(xb, inputStride: 1, weights: w, bias: bb, activation: .identity, $0, outputStride: n,
                                         rows: 0..<rows, variant: variant)
                        }
                    }
                }
                let fused = Kernels.fusesMultiplyAdd(variant)
                #expect(Set(out) == [fused ? 0x1p-24 : 0], "\(variant) rows=\(rows) n=\(n): \(Set(out))")
                #if arch(x86_64)
                #expect(fused == (variant == .haswell))
                #endif
            }
        }
    }

    /// The two copies agree to Float rounding (not bitwise: fused vs separate rounding), and the
    /// dispatched entry point is bitwise the chosen copy.
    @Test(arguments: [UInt64(61), 62, 63])
    func variantsAgreeAndDispatchIsTheChosenCopy(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<8 {
            let k = Int.random(in: 1...140, using: &rng), n = Int.random(in: 1...140, using: &rng)
            let rows = Int.random(in: 1...21, using: &rng)
            let x = rng.floats(rows * k), b = rng.floats(n)
            let w = PackedMatrix(k: k, n: n, rowMajor: rng.floats(k * n))
            func run(_ variant: KernelVariant?) -> [Float] {
                var out = [Float](repeating: 0, count: rows * n)
                x.withUnsafeBufferPointer { xb in
                    b.withUnsafeBufferPointer { bb in
                        out.withUnsafeMutableBufferPointer { ob in
                            if let variant {
                                denseForward(xb, inputStride: k, weights: w, bias: bb, activation: .relu, ob, outputStride: n,
                                             rows: 0..<rows, variant: variant)
                            } else {
                                denseForward(xb, inputStride: k, weights: w, bias: bb, activation: .relu, ob, outputStride: n, rows: 0..<rows)
                            }
                        }
                    }
                }
                return out
            }
            let results = availableVariants.map(run)
            #expect(run(nil).map(\.bitPattern) == run(Kernels.variant).map(\.bitPattern))
            for r in results.dropFirst() {
                for i in 0..<r.count { #expect(close(r[i], results[0][i], scale: Float(k)), "k=\(k) n=\(n) i=\(i)") }
            }
            // Deterministic: the same call twice gives the same bits.
            for v in availableVariants { #expect(run(v).map(\.bitPattern) == run(v).map(\.bitPattern)) }
        }
    }
}
