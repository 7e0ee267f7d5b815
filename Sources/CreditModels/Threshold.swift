import Foundation

/// How the decision threshold is chosen on the validation rows.
/// An applicant is refused when its probability of default is `>= threshold`.
public enum ThresholdRule: Codable, Sendable, Equatable {
    /// A given threshold (default 0.5 when no rule is asked for).
    case fixed(Double)
    /// Highest recall of defaults with precision >= the given value.
    case minPrecision(Double)
    /// Minimum expected cost: `missedDefault` per default approved (false negative) plus
    /// `refusedGood` per good applicant refused (false positive).
    case cost(missedDefault: Double, refusedGood: Double)

    /// Stored snake_case like every other key: `{"fixed": 0.5}`, `{"min_precision": 0.8}`,
    /// `{"cost": {"missed_default": 5, "refused_good": 1}}`. Format-1 artifacts wrote Swift's
    /// synthesized form (`{"minPrecision": {"_0": 0.8}}`); it is still read.
    enum CodingKeys: String, CodingKey {
        case fixed, minPrecision = "min_precision", cost
        case legacyMinPrecision = "minPrecision"
    }
    enum CostKeys: String, CodingKey {
        case missedDefault = "missed_default", refusedGood = "refused_good"
        case legacyMissed = "missedDefault", legacyRefused = "refusedGood"
    }
    enum LegacyValue: String, CodingKey { case value = "_0" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func number(_ key: CodingKeys) throws -> Double? {
            guard c.contains(key) else { return nil }
            if let x = try? c.decode(Double.self, forKey: key) { return x }
            return try c.nestedContainer(keyedBy: LegacyValue.self, forKey: key).decode(Double.self, forKey: .value)
        }
        if let t = try number(.fixed) { self = .fixed(t); return }
        if let p = try number(.minPrecision) ?? number(.legacyMinPrecision) { self = .minPrecision(p); return }
        if c.contains(.cost) {
            let k = try c.nestedContainer(keyedBy: CostKeys.self, forKey: .cost)
            let a = try k.decodeIfPresent(Double.self, forKey: .missedDefault) ?? k.decode(Double.self, forKey: .legacyMissed)
            let b = try k.decodeIfPresent(Double.self, forKey: .refusedGood) ?? k.decode(Double.self, forKey: .legacyRefused)
            self = .cost(missedDefault: a, refusedGood: b)
            return
        }
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
            debugDescription: "threshold rule: expected fixed, min_precision or cost"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .fixed(let t): try c.encode(t, forKey: .fixed)
        case .minPrecision(let p): try c.encode(p, forKey: .minPrecision)
        case .cost(let a, let b):
            var k = c.nestedContainer(keyedBy: CostKeys.self, forKey: .cost)
            try k.encode(a, forKey: .missedDefault)
            try k.encode(b, forKey: .refusedGood)
        }
    }

    /// The mode name stored in the artifact and printed in reports.
    public var mode: String {
        switch self {
        case .fixed: return "fixed"
        case .minPrecision: return "min_precision"
        case .cost: return "cost"
        }
    }
}

/// The chosen threshold, its rule, and what it achieved on the validation rows.
public struct ThresholdChoice: Codable, Sendable, Equatable {
    public var threshold: Double
    public var mode: String
    public var rule: ThresholdRule
    /// Precision / recall of the default class on validation at `threshold`.
    public var precision: Double
    public var recall: Double
    /// Expected cost per validation row (cost mode only).
    public var expectedCost: Double?
    /// False when the rule could not be met (no threshold reaches the minimum precision);
    /// the threshold then maximises precision instead (see `chooseThreshold`).
    public var satisfied: Bool
    /// Which predictions the threshold was chosen on: "out_of_fold" (cross-validation, every
    /// training row scored by a model that did not see it) or "validation" (a held-out slice).
    /// Nil in format-1 artifacts (always a validation slice).
    public var chosenOn: String?
    /// Rows and defaults among the predictions it was chosen on.
    public var rows: Int?
    public var positives: Int?
    /// min precision with a margin: the confidence of the Wilson lower bound, and that bound
    /// for the chosen threshold (it is >= the asked precision when `satisfied`).
    public var confidence: Double?
    public var precisionLowerBound: Double?

    public init(threshold: Double, mode: String, rule: ThresholdRule, precision: Double, recall: Double,
                expectedCost: Double?, satisfied: Bool) {
        self.threshold = threshold
        self.mode = mode
        self.rule = rule
        self.precision = precision
        self.recall = recall
        self.expectedCost = expectedCost
        self.satisfied = satisfied
    }

    enum CodingKeys: String, CodingKey {
        case threshold, mode, rule, precision, recall, expectedCost = "expected_cost", satisfied
        case chosenOn = "chosen_on", rows, positives, confidence, precisionLowerBound = "precision_lower_bound"
    }
}

/// Chooses the threshold on validation probabilities.
///
/// Candidates are the distinct probabilities (refuse every row with p >= candidate) plus
/// "refuse nobody" (a threshold just above the largest probability, capped at 1.0 + ulp).
/// - min precision: among candidates with precision >= P the one with the highest recall;
///   ties go to the higher threshold. When none qualifies, the candidate with the highest
///   precision (then highest recall) is returned with `satisfied == false`.
/// - cost: the candidate with the lowest `A·FN + B·FP`; ties go to the higher threshold.
///
/// With `confidence` > 0, min precision asks more: the one-sided Wilson lower bound of the
/// precision (`wilsonLowerBound`) at that confidence must reach P, so the sampling noise of
/// the rows it is chosen on is allowed for.
public func chooseThreshold(probabilities: [Double], labels: [Bool], rule: ThresholdRule,
                            confidence: Double = 0) -> ThresholdChoice {
    let pos = labels.reduce(0) { $0 + ($1 ? 1 : 0) }
    let neg = labels.count - pos
    let points = Metrics.sweep(scores: probabilities, labels: labels)   // descending thresholds
    let above = (probabilities.max() ?? 0.5).nextUp
    // (threshold, tp, fp), starting with "refuse nobody".
    var candidates: [(t: Double, tp: Int, fp: Int)] = [(max(above, 0.0), 0, 0)]
    candidates += points.map { ($0.score, $0.tp, $0.fp) }
    func precision(_ c: (t: Double, tp: Int, fp: Int)) -> Double { c.tp + c.fp == 0 ? 0 : Double(c.tp) / Double(c.tp + c.fp) }
    func recall(_ c: (t: Double, tp: Int, fp: Int)) -> Double { pos == 0 ? 0 : Double(c.tp) / Double(pos) }

    switch rule {
    case .fixed(let t):
        let m = Metrics.confusion(probabilities: probabilities, labels: labels, threshold: t)
        var out = ThresholdChoice(threshold: t, mode: rule.mode, rule: rule, precision: m.precision,
                                  recall: m.recall, expectedCost: nil, satisfied: true)
        out.rows = labels.count
        out.positives = pos
        return out
    case .minPrecision(let p):
        func lower(_ c: (t: Double, tp: Int, fp: Int)) -> Double {
            wilsonLowerBound(successes: c.tp, trials: c.tp + c.fp, confidence: confidence)
        }
        func choice(_ c: (t: Double, tp: Int, fp: Int), satisfied: Bool) -> ThresholdChoice {
            var out = ThresholdChoice(threshold: c.t, mode: rule.mode, rule: rule, precision: precision(c),
                                      recall: recall(c), expectedCost: nil, satisfied: satisfied)
            out.rows = labels.count
            out.positives = pos
            out.confidence = confidence
            out.precisionLowerBound = lower(c)
            return out
        }
        var best: (t: Double, tp: Int, fp: Int)? = nil
        for c in candidates where c.tp + c.fp > 0 && lower(c) >= p {
            // Candidates run from high to low threshold: keep the first with a strictly higher recall.
            if best == nil || recall(c) > recall(best!) { best = c }
        }
        if let b = best { return choice(b, satisfied: true) }
        var fallback = candidates[0]
        for c in candidates where c.tp + c.fp > 0 {
            if fallback.tp + fallback.fp == 0 || lower(c) > lower(fallback)
                || (lower(c) == lower(fallback) && recall(c) > recall(fallback)) { fallback = c }
        }
        return choice(fallback, satisfied: false)
    case .cost(let a, let b):
        var best = candidates[0]
        func cost(_ c: (t: Double, tp: Int, fp: Int)) -> Double { a * Double(pos - c.tp) + b * Double(c.fp) }
        for c in candidates where cost(c) < cost(best) { best = c }
        _ = neg
        var out = ThresholdChoice(threshold: best.t, mode: rule.mode, rule: rule, precision: precision(best),
                                  recall: recall(best), expectedCost: labels.isEmpty ? 0 : cost(best) / Double(labels.count),
                                  satisfied: true)
        out.rows = labels.count
        out.positives = pos
        return out
    }
}

/// The Wilson score lower bound of a proportion `k / n` at one-sided `confidence` (0: k/n).
public func wilsonLowerBound(successes k: Int, trials n: Int, confidence: Double) -> Double {
    guard n > 0 else { return 0 }
    let p = Double(k) / Double(n)
    guard confidence > 0 else { return p }
    let z = normalQuantile(confidence), z2 = z * z, nd = Double(n)
    let centre = p + z2 / (2 * nd)
    let spread = z * (p * (1 - p) / nd + z2 / (4 * nd * nd)).squareRoot()
    return max(0, (centre - spread) / (1 + z2 / nd))
}

/// Φ⁻¹(q) for q in (0, 1): bisection on Φ(z) = erfc(−z/√2)/2 (exact to ~1e-12; called once per training).
func normalQuantile(_ q: Double) -> Double {
    var lo = -40.0, hi = 40.0
    for _ in 0..<200 {
        let mid = (lo + hi) / 2
        if 0.5 * erfc(-mid / 2.0.squareRoot()) < q { lo = mid } else { hi = mid }
    }
    return (lo + hi) / 2
}
