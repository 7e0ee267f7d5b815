// GBDT split-gain kernels (bodies in SplitKernelBodies.swift, compiled portable and for AVX2)
// with their argument checks, scalar references and run-time dispatch (`Kernels.variant`).
// The learner's split scan (CreditModels' GBDTSplitFinder) gathers a node's candidate left
// sums in bin order, scores them here four at a time, then keeps the first best in order.
import CreditCoreHaswell

/// A node's totals and the constraints shared by all its split candidates.
public struct SplitGainNode: Sendable {
    /// Σg, Σh and row count of the node.
    public var g: Double, h: Double, count: Double
    /// L2 on leaf values (λ).
    public var lambda: Double
    /// A child needs at least `minData` rows and `minChild` hessian.
    public var minData: Double, minChild: Double
    /// The node's own score, subtracted from every gain.
    public var parent: Double

    public init(g: Double, h: Double, count: Double, lambda: Double, minData: Double, minChild: Double, parent: Double) {
        self.g = g; self.h = h; self.count = count; self.lambda = lambda
        self.minData = minData; self.minChild = minChild; self.parent = parent
    }
}

/// Monotone scoring (XGBoost's `monotone_constraints`): both children's values are clamped
/// to `lower ... upper`, and must be ordered by `sign` (+1: left ≤ right, −1: left ≥ right).
public struct SplitGainBounds: Sendable {
    public var eta: Double, lower: Double, upper: Double, sign: Double
    public init(eta: Double, lower: Double, upper: Double, sign: Double) {
        self.eta = eta; self.lower = lower; self.upper = upper; self.sign = sign
    }
}

/// Gains of `count` split candidates without L1: candidate i sends left the sums
/// `(g[i], h[i], c[i])`, the right child gets the node's rest (rg, rh, rc);
/// `gains[i] = g²/(h+λ) + rg²/(rh+λ) − parent`, or −∞ when a child has fewer than
/// `minData` rows or less than `minChild` hessian. The same bits from every copy and
/// `splitGainsReference`. Allocates nothing.
public func splitGains(g: UnsafePointer<Double>, h: UnsafePointer<Double>, c: UnsafePointer<Double>, count: Int,
                       node: SplitGainNode, gains: UnsafeMutablePointer<Double>, variant: KernelVariant = Kernels.variant) {
    precondition(count >= 0, "splitGains: negative count")
    precondition(Kernels.isAvailable(variant), "splitGains: kernel variant \(variant) is not available on this CPU")
    switch variant {
    case .portable:
        CreditCore.splitGainsKernel(g: g, h: h, c: c, count: count, totalG: node.g, totalH: node.h, totalC: node.count,
                                    lambda: node.lambda, minData: node.minData, minChild: node.minChild, parent: node.parent, gains: gains)
    case .haswell:
        CreditCoreHaswell.splitGainsKernel(g: g, h: h, c: c, count: count, totalG: node.g, totalH: node.h, totalC: node.count,
                                           lambda: node.lambda, minData: node.minData, minChild: node.minChild, parent: node.parent,
                                           gains: gains)
    }
}

/// Scalar reference of `splitGains`.
public func splitGainsReference(g: UnsafePointer<Double>, h: UnsafePointer<Double>, c: UnsafePointer<Double>, count: Int,
                                node: SplitGainNode, gains: UnsafeMutablePointer<Double>) {
    for i in 0..<count {
        let rg = node.g - g[i], rh = node.h - h[i], rc = node.count - c[i]
        if c[i] < node.minData || rc < node.minData || h[i] < node.minChild || rh < node.minChild {
            gains[i] = -.infinity
        } else {
            gains[i] = g[i] * g[i] / (h[i] + node.lambda) + rg * rg / (rh + node.lambda) - node.parent
        }
    }
}

/// Gains of `count` candidates under monotone scoring, without L1: each child's value is
/// `w = min(max(−G/(H+λ)·η, lower), upper)` and scores `−(2·G·a + (H+λ)·a²)` with a = w/η
/// (the gain of that weight, XGBoost's `CalcGainGivenWeight`); `gains[i]` = left + right −
/// parent, or −∞ under the same child constraints as `splitGains` or when
/// `sign·(w_right − w_left) < 0`. The same bits from every copy and
/// `monotoneSplitGainsReference`. Allocates nothing.
public func monotoneSplitGains(g: UnsafePointer<Double>, h: UnsafePointer<Double>, c: UnsafePointer<Double>, count: Int,
                               node: SplitGainNode, bounds: SplitGainBounds, gains: UnsafeMutablePointer<Double>,
                               variant: KernelVariant = Kernels.variant) {
    precondition(count >= 0, "monotoneSplitGains: negative count")
    precondition(Kernels.isAvailable(variant), "monotoneSplitGains: kernel variant \(variant) is not available on this CPU")
    switch variant {
    case .portable:
        CreditCore.monotoneSplitGainsKernel(g: g, h: h, c: c, count: count, totalG: node.g, totalH: node.h, totalC: node.count,
                                            lambda: node.lambda, eta: bounds.eta, lower: bounds.lower, upper: bounds.upper,
                                            sign: bounds.sign, minData: node.minData, minChild: node.minChild, parent: node.parent,
                                            gains: gains)
    case .haswell:
        CreditCoreHaswell.monotoneSplitGainsKernel(g: g, h: h, c: c, count: count, totalG: node.g, totalH: node.h, totalC: node.count,
                                                   lambda: node.lambda, eta: bounds.eta, lower: bounds.lower, upper: bounds.upper,
                                                   sign: bounds.sign, minData: node.minData, minChild: node.minChild,
                                                   parent: node.parent, gains: gains)
    }
}

/// Scalar reference of `monotoneSplitGains` (Swift's `min`/`max` for the clamp).
public func monotoneSplitGainsReference(g: UnsafePointer<Double>, h: UnsafePointer<Double>, c: UnsafePointer<Double>, count: Int,
                                        node: SplitGainNode, bounds: SplitGainBounds, gains: UnsafeMutablePointer<Double>) {
    let lambda = node.lambda, eta = bounds.eta
    for i in 0..<count {
        let rg = node.g - g[i], rh = node.h - h[i], rc = node.count - c[i]
        gains[i] = -.infinity
        if c[i] < node.minData || rc < node.minData || h[i] < node.minChild || rh < node.minChild { continue }
        let wl = min(max(-g[i] / (h[i] + lambda) * eta, bounds.lower), bounds.upper)
        let wr = min(max(-rg / (rh + lambda) * eta, bounds.lower), bounds.upper)
        if bounds.sign * (wr - wl) < 0 { continue }
        let al = wl / eta, ar = wr / eta
        gains[i] = -(2 * g[i] * al + (h[i] + lambda) * al * al) + -(2 * rg * ar + (rh + lambda) * ar * ar) - node.parent
    }
}
