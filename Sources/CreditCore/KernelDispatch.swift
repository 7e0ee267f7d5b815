import CCPUFeatures
import CreditCoreHaswell
import Foundation

/// Which compiled copy of the dense kernels runs (docs/matrix-core.md, "Run-time dispatch").
public enum KernelVariant: String, Sendable, CaseIterable, Codable {
    /// Compiled for the x86-64 baseline (SSE2, separate multiply and add); runs on any CPU.
    /// On arm64 both copies are the same NEON + FMA code.
    case portable
    /// Compiled with `-target-cpu haswell -DCREDIT_FMA` (AVX2 + fused multiply-add); chosen
    /// only when the CPU has AVX2 and FMA.
    case haswell
}

/// The run-time kernel dispatch decision for this process.
///
/// `denseForward` and `denseWeightGradient` run the `haswell` copy when the CPU has AVX2 and
/// FMA, the `portable` copy otherwise. The environment variable `CREDIT_KERNELS` overrides:
/// `portable` forces the baseline copy (e.g. to get the same bits as a machine without AVX2),
/// `haswell` asks for the AVX2+FMA copy but is honoured only when the CPU has both (it falls
/// back to `portable` instead of trapping), `auto` or unset detects. The decision is made once
/// per process (first use) and never changes.
///
/// Numerics: the two copies differ in the last bits (fused vs separate rounding), so a model
/// trained, or an artifact scored, on the two paths can differ in the last bits; on one machine
/// with one setting every result is deterministic.
public enum Kernels {
    /// The environment variable that overrides the decision.
    public static let environmentVariable = "CREDIT_KERNELS"

    /// True when this CPU (and OS) supports AVX2 and FMA (`CCPUFeatures`); false off x86-64.
    public static let cpuHasAVX2AndFMA: Bool = credit_cpu_has_avx2_fma() != 0

    /// Whether `variant` can run on this machine.
    public static func isAvailable(_ variant: KernelVariant) -> Bool {
        switch variant {
        case .portable: return true
        case .haswell:
            #if arch(x86_64)
            return cpuHasAVX2AndFMA
            #else
            return false   // the haswell copy is compiled without haswell flags off x86-64
            #endif
        }
    }

    /// The variant `denseForward` and `denseWeightGradient` use in this process.
    public static var variant: KernelVariant { decision.variant }

    /// One line saying what runs and why (for logs, `credit-bench kernels`, reports).
    public static var summary: String { decision.reason }

    private static let decision: (variant: KernelVariant, reason: String) =
        resolve(override: ProcessInfo.processInfo.environment[environmentVariable],
                haswellAvailable: isAvailable(.haswell))

    /// The pure decision rule (tested): `override` is the value of `CREDIT_KERNELS` (nil if
    /// unset). Unknown values are reported in `reason` and treated as `auto`.
    static func resolve(override: String?, haswellAvailable: Bool) -> (variant: KernelVariant, reason: String) {
        let detected: KernelVariant = haswellAvailable ? .haswell : .portable
        let cpu = haswellAvailable ? "CPU has AVX2+FMA" : "CPU lacks AVX2+FMA (or not x86-64)"
        let value = override?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        switch value {
        case "", "auto":
            return (detected, "\(detected.rawValue): auto-detected, \(cpu)")
        case "portable":
            return (.portable, "portable: forced by \(environmentVariable)=portable (\(cpu))")
        case "haswell":
            if haswellAvailable { return (.haswell, "haswell: forced by \(environmentVariable)=haswell (\(cpu))") }
            return (.portable, "portable: \(environmentVariable)=haswell ignored, \(cpu)")
        default:
            return (detected, "\(detected.rawValue): auto-detected, \(cpu); unknown \(environmentVariable)=\(override!) ignored (portable|haswell|auto)")
        }
    }

    /// Whether `variant`'s copy fuses multiply-adds (true for `haswell` on x86-64; both on arm64).
    static func fusesMultiplyAdd(_ variant: KernelVariant) -> Bool {
        switch variant {
        case .portable: return CreditCore.denseKernelsFuseMultiplyAdd()
        case .haswell: return CreditCoreHaswell.denseKernelsFuseMultiplyAdd()
        }
    }
}
