import CreditDomain

/// The cleaned value of a feature for wording a reason.
enum ReasonValue {
    case numeric(Double?)
    case category(String?)
    /// Session path: plan code of categorical input `k` (text only for unseen categories).
    case categoryCode(k: Int, code: Int32, unseen: String?)
}

/// A model's adverse-action wording: which raw feature each model input column belongs to,
/// and every sentence the compiled `Schema` gives its features, precomputed so that wording
/// a reason allocates nothing (only a category unseen in training builds its text).
///
/// Features are indexed in the preprocessor's (= schema's, spec) order.
struct ReasonWording: Sendable {
    /// The schema features, in preprocessor order.
    let features: [SchemaFeature]
    // Their sentences as flat arrays (the hot path reads a String, never a whole feature).
    let high: [String]
    let low: [String]
    let missing: [String]
    /// For each model input column, the index of its source feature.
    let columnFeature: [Int]
    let medians: [Double]
    let isNumeric: [Bool]
    /// Per categorical plan input: the wording for each training category code.
    let categoryReason: [[String]]
    /// Per feature: the declared adverse side (numeric, ordinal), nil when undeclared.
    let adverseSide: [AdverseSide?]
    /// Per categorical plan input: whether each training category code may be a reason
    /// (its feature's `adverse_categories`; every category when undeclared).
    let categoryAdverse: [[Bool]]

    init(schema: Schema, stats: [FeatureStats], plan: FeaturePlan) {
        let features = stats.map { schema.feature(named: $0.name)! }
        self.features = features
        high = features.map(\.reasonHigh)
        low = features.map(\.reasonLow)
        missing = features.map(\.reasonMissing)
        let index = Dictionary(uniqueKeysWithValues: stats.enumerated().map { ($1.name, $0) })
        columnFeature = plan.columns.map { index[$0.source]! }
        medians = stats.map { $0.median ?? 0 }
        isNumeric = stats.map { $0.kind == .numeric }
        // A category's reason names the category ("loan grade is D"): one sentence for all
        // categories of a feature would be false for some of them.
        categoryReason = plan.categoricalFeatures.map { name in
            let f = index[name]!
            return (stats[f].categories ?? []).map { features[f].categoryReason($0) }
        }
        adverseSide = features.map(\.adverseSide)
        categoryAdverse = plan.categoricalFeatures.map { name in
            let f = index[name]!
            return (stats[f].categories ?? []).map { features[f].adverseCategories?.contains($0) ?? true }
        }
    }

    /// Sums column contributions by source feature and emits the (up to) `limit` largest
    /// positive ones, strongest first, with their wording. A feature whose value is not on its
    /// declared adverse side (`adverse_side` against the training median, `adverse_categories`)
    /// is never a reason, whatever its contribution: it is skipped and the next one taken, so
    /// every reason names a fact that raised the risk. Allocation-free: `perFeature` and `taken`
    /// are caller scratch of `features.count` elements.
    func topReasons(contributions: UnsafeBufferPointer<Float>, perFeature: UnsafeMutableBufferPointer<Double>,
                    taken: UnsafeMutableBufferPointer<Bool>, limit: Int,
                    value: (Int) -> ReasonValue, emit: (Int, String, Double) -> Void) {
        for f in 0..<perFeature.count { perFeature[f] = 0; taken[f] = false }
        columnFeature.withUnsafeBufferPointer { source in
            for j in 0..<contributions.count { perFeature[source[j]] += Double(contributions[j]) }
        }
        var emitted = 0
        while emitted < limit {
            var best = -1
            for f in 0..<perFeature.count where !taken[f] && perFeature[f] > 0 {
                if best < 0 || perFeature[f] > perFeature[best] { best = f }
            }
            guard best >= 0 else { return }
            taken[best] = true
            guard let wording = adverseText(feature: best, value: value(best)) else { continue }
            emit(best, wording, perFeature[best])
            emitted += 1
        }
    }

    /// The wording of feature `f` as a reason, or nil when its value is not on the feature's
    /// declared adverse side (a missing value always may be: it is never praise).
    func adverseText(feature f: Int, value: ReasonValue) -> String? {
        switch value {
        case .numeric(let x):
            guard let x, x.isFinite else { return missing[f] }
            switch adverseSide[f] {
            case .high?: return x >= medians[f] ? high[f] : nil
            case .low?: return x < medians[f] ? low[f] : nil
            case nil: return x >= medians[f] ? high[f] : low[f]
            }
        case .category(let c):
            guard let c else { return missing[f] }
            if let allowed = features[f].adverseCategories, !allowed.contains(c) { return nil }
            return features[f].categoryReason(c)
        case .categoryCode(let k, let code, let unseen):
            if code < 0 { return missing[f] }
            if Int(code) < categoryReason[k].count { return categoryAdverse[k][Int(code)] ? categoryReason[k][Int(code)] : nil }
            let c = unseen ?? Cleaner.unknownCategory
            if let allowed = features[f].adverseCategories, !allowed.contains(c) { return nil }
            return features[f].categoryReason(c)
        }
    }

    /// Every sentence feature `f` can give as a reason (tests check them against the spec).
    func possibleReasons(feature f: Int) -> [String] {
        if isNumeric[f] {
            switch adverseSide[f] {
            case .high?: return [high[f], missing[f]]
            case .low?: return [low[f], missing[f]]
            case nil: return [high[f], low[f], missing[f]]
            }
        }
        let cats = features[f].order ?? features[f].vocabulary ?? []
        return cats.filter { features[f].adverseCategories?.contains($0) ?? true }.map { features[f].categoryReason($0) } + [missing[f]]
    }

    /// Reason codes for one row (allocating convenience over `topReasons`).
    func reasonCodes(contributions: [Float], perFeature: inout [Double], limit: Int = 4,
                     value: (Int) -> (Double?, String?)) -> [Reason] {
        var taken = [Bool](repeating: false, count: features.count)
        var out: [Reason] = []
        contributions.withUnsafeBufferPointer { c in
            perFeature.withUnsafeMutableBufferPointer { p in
                taken.withUnsafeMutableBufferPointer { t in
                    topReasons(contributions: c, perFeature: p, taken: t, limit: limit, value: { f in
                        let (num, cat) = value(f)
                        return isNumeric[f] ? .numeric(num) : .category(cat)
                    }, emit: { f, text, c in out.append(Reason(feature: features[f].name, text: text, contribution: c)) })
                }
            }
        }
        return out
    }
}
