import CreditCore
import CreditDomain
import Metrics
import Synchronization

/// One feature's drift: the training shares against the shares among scored applicants.
public struct FeatureDrift: Sendable, Equatable {
    public var name: String
    public var kind: FeatureKind
    public var labels: [String]
    public var expected: [Double]
    public var counts: [Int]
    /// NaN when nothing was scored yet.
    public var psi: Double
    public var band: String
}

/// What has been scored since the model serving now was loaded (every face).
public struct PortfolioSnapshot: Sendable {
    public var modelId: String
    /// Unix seconds when these tallies started (the model's load).
    public var sinceUnixSeconds: Double
    public var scored: Int
    public var errors: Int
    public var refused: Int
    /// Approved / scored (NaN before the first score).
    public var approvalRate: Double { scored == 0 ? .nan : Double(scored - refused) / Double(scored) }
    /// Probability of default in `Portfolio.scoreBins` equal bins over [0, 1].
    public var scoreCounts: [Int]
    /// Reason codes given, by feature, most frequent first (features never given are left out).
    public var reasons: [(feature: String, count: Int)]
    /// Per feature with a training distribution in the model (none for older artifacts).
    public var features: [FeatureDrift]
}

/// Where each applicant's values fall among its model's training bins (per loaded model).
struct DriftPlan: Sendable {
    /// Per field: its training distribution, nil when the model has none for it.
    let distributions: [FeatureDistribution?]
    /// Per categorical field: backend category code → bin.
    let codeBins: [[Int]]
    /// The tallies' one flat layout: the score histogram, then a reason count per field, then
    /// each field's drift bins from `binStart[f]` (flat arrays: a merge is one loop, no nesting).
    let binStart: [Int]
    let slots: Int
    var reasonStart: Int { Portfolio.scoreBins }

    init(model info: ModelDescription, codes: [[Int32]], reference: [FeatureDistribution]?) {
        let byName = Dictionary((reference ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        distributions = info.fields.map { f in byName[f.name].flatMap { $0.kind == f.kind ? $0 : nil } }
        codeBins = info.fields.indices.map { f in
            guard let d = byName[info.fields[f].name], d.kind == .categorical, info.fields[f].kind == .categorical else { return [] }
            let cats = d.categories ?? []
            let index = Dictionary(cats.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            let other = cats.count
            var bins = [Int](repeating: other, count: Int(codes[f].max() ?? -1) + 1)
            for (i, code) in codes[f].enumerated() where code >= 0 {
                bins[Int(code)] = index[info.fields[f].categories[i]] ?? other
            }
            return bins
        }
        var next = Portfolio.scoreBins + info.fields.count
        binStart = distributions.map { d in defer { next += d?.binCount ?? 0 }; return next }
        slots = next
    }
}

/// Tallies of scored applicants, kept by the service for every face. A scorer counts its
/// batch locally and merges once per batch (one lock per batch, none per applicant).
///
/// Reload: the tallies start again when a newer model scores its first batch (the drift
/// reference and the score distribution belong to a model); batches still in flight on the
/// older model after that are not counted.
public final class Portfolio: Sendable {
    public static let scoreBins = 20

    struct State {
        var generation: UInt64 = 0
        var model: LoadedModel?
        var since = 0.0
        var scored = 0, errors = 0, refused = 0
        /// `DriftPlan`'s flat layout.
        var counts: [Int] = []
    }
    private let state = Mutex(State())
    private let psiGauges: Mutex<[String: Gauge]> = Mutex([:])
    let factory: any MetricsFactory

    init(factory: any MetricsFactory) { self.factory = factory }

    /// Adds a scorer's tally and clears it. Only the slots the tally touched are visited
    /// unless it touched too many to list: a one-applicant request merges ~15 numbers, not
    /// every bin of every feature (that had been ~5 % of its CPU).
    func merge(_ t: PortfolioTally) {
        guard let model = t.model else { return }
        defer { t.clear() }
        state.withLock { s in
            if model.generation > s.generation || s.model == nil {
                s = State()
                s.generation = model.generation
                s.model = model
                s.since = Double(SystemClock.unixMicros()) / 1e6
                s.counts = [Int](repeating: 0, count: model.drift.slots)
            } else if model.generation < s.generation {
                return
            }
            s.scored += t.scored; s.errors += t.errors; s.refused += t.refused
            s.counts.withUnsafeMutableBufferPointer { into in t.add(into: into) }
        }
    }

    /// nil before anything was scored, or when `current` (the model serving now) is newer
    /// than the one tallied (a reload, nothing scored since).
    public func snapshot(current: LoadedModel? = nil) -> PortfolioSnapshot? {
        state.withLock { s in
            guard let m = s.model, (current?.generation ?? 0) <= s.generation else { return nil }
            let fields = m.info.fields
            var reasons: [(feature: String, count: Int)] = []
            let plan = m.drift, counts = s.counts
            for f in fields.indices where counts[plan.reasonStart + f] > 0 { reasons.append((fields[f].name, counts[plan.reasonStart + f])) }
            reasons.sort { ($0.count, $1.feature) > ($1.count, $0.feature) }
            var features: [FeatureDrift] = []
            for (f, d) in m.drift.distributions.enumerated() {
                guard let d else { continue }
                let bins = Array(counts[plan.binStart[f]..<plan.binStart[f] + d.binCount])
                let psi = PSI.value(expected: d.fractions, counts: bins)
                features.append(FeatureDrift(name: d.name, kind: d.kind, labels: d.binLabels, expected: d.fractions,
                                             counts: bins, psi: psi, band: PSI.band(psi)))
            }
            return PortfolioSnapshot(modelId: m.info.modelId, sinceUnixSeconds: s.since, scored: s.scored, errors: s.errors,
                                     refused: s.refused, scoreCounts: Array(counts[0..<Portfolio.scoreBins]), reasons: reasons, features: features)
        }
    }

    /// `credit_feature_psi{feature}` gauges from the current tallies (before a `/metrics` scrape).
    public func publishPSI() {
        guard let snap = snapshot() else { return }
        for f in snap.features where !f.psi.isNaN {
            let g = psiGauges.withLock { g in
                if let x = g[f.name] { return x }
                let x = Gauge(label: "credit_feature_psi", dimensions: [("feature", f.name)], factory: factory)
                g[f.name] = x
                return x
            }
            g.record(f.psi)
        }
    }
}

/// One scorer's counts for the batch it just scored (reused; merged into the `Portfolio`).
final class PortfolioTally {
    var model: LoadedModel?
    var scored = 0, errors = 0, refused = 0
    /// `DriftPlan`'s flat layout, all zero between batches.
    private var counts: [Int] = []
    /// The slots made non-zero since the last merge, while they fit (`touchedCount` past the
    /// capacity means "too many: add every slot").
    private var touched = [Int32](repeating: 0, count: 64)
    private var touchedCount = 0

    func clear() {
        scored = 0; errors = 0; refused = 0
        if touchedCount <= touched.count {
            for k in 0..<touchedCount { counts[Int(touched[k])] = 0 }
        } else {
            for k in counts.indices { counts[k] = 0 }
        }
        touchedCount = 0
    }

    /// Adds the counts into `into` (the portfolio's, same layout).
    func add(into: UnsafeMutableBufferPointer<Int>) {
        counts.withUnsafeBufferPointer { c in
            if touchedCount <= touched.count {
                for k in 0..<touchedCount { let i = Int(touched[k]); into[i] += c[i] }
            } else {
                for i in c.indices { into[i] += c[i] }
            }
        }
    }

    /// Counts a scored batch (`results` of `applicants`, bound for `model`).
    func count(_ results: ScoreResults, _ applicants: borrowing ColumnarApplicants, model m: LoadedModel) {
        if model !== m {
            model = m
            counts = [Int](repeating: 0, count: m.drift.slots)
            scored = 0; errors = 0; refused = 0
            touchedCount = 0
        }
        let n = results.count
        let plan = m.drift
        var scored = 0, errors = 0, refused = 0
        var touchedCount = self.touchedCount
        counts.withUnsafeMutableBufferPointer { counts in
            touched.withUnsafeMutableBufferPointer { touched in
                @inline(__always) func bump(_ i: Int) {
                    if counts[i] == 0 {
                        if touchedCount < touched.count { touched[touchedCount] = Int32(i) }
                        touchedCount += 1
                    }
                    counts[i] += 1
                }
                results.decision.withUnsafeBufferPointer { decision in
                    results.probability.withUnsafeBufferPointer { probability in
                        for i in 0..<n {
                            let d = decision[i]
                            if d == .unspecified { errors += 1; continue }
                            scored += 1
                            if d == .refuse { refused += 1 }
                            bump(min(Portfolio.scoreBins - 1, max(0, Int(probability[i] * Double(Portfolio.scoreBins)))))
                            for k in 0..<Int(results.reasonCount[i]) {
                                let f = Int(results.reasonField[i * ScoreResults.maxReasons + k])
                                if f >= 0 && f < plan.distributions.count { bump(plan.reasonStart + f) }
                            }
                        }
                    }
                    // Per feature, over raw buffers: this runs for every scored batch of every face.
                    for (f, dist) in plan.distributions.enumerated() {
                        guard let dist else { continue }
                        let start = plan.binStart[f], missing = start + dist.missingBin
                        switch dist.kind {
                        case .numeric:
                            let v = applicants.numeric(f)
                            (dist.edges ?? []).withUnsafeBufferPointer { e in
                                for i in 0..<n where decision[i] != .unspecified {
                                    let x = v[i]
                                    bump(x.isNaN ? missing : start + FeatureDistribution.valueBin(x, edges: e))
                                }
                            }
                        case .categorical:
                            let c = applicants.categoryCodes(f), other = dist.valueBins - 1
                            plan.codeBins[f].withUnsafeBufferPointer { bins in
                                for i in 0..<n where decision[i] != .unspecified {
                                    let code = Int(c[i])
                                    bump(code == Int(ColumnarApplicants.missing) ? missing
                                         : start + (code >= 0 && code < bins.count ? bins[code] : other))
                                }
                            }
                        }
                    }
                }
            }
        }
        self.touchedCount = touchedCount
        self.scored += scored; self.errors += errors; self.refused += refused
    }
}
