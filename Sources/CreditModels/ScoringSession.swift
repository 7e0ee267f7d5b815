import CreditDomain

/// Per-thread scoring buffers for columnar raw input (what a server calls).
///
/// ```swift
/// let session = model.makeSession(maxRows: 1024)
/// // numeric[j]: raw values of model.plan.numericFeatures[j] (NaN = missing);
/// // codes[k]: for model.plan.categoricalFeatures[k], the model's code of each value
/// // (model.categoryCodes maps a schema category to it), -1 missing, -2 not listed.
/// let errors = session.score(numeric: num, categoryCodes: codes, rows: n) { k, row in rawText(k, row) }
/// for r in 0..<n {
///     if let e = session.error(r) { ... } else {
///         session.probability(r); session.refuse(r)
///         session.forEachReason(r) { feature, text, contribution in ... }   // no allocation
///     }
/// }
/// ```
/// Values go through the spec's cleaning rules (range rules via `Cleaner.cleanNumeric`
/// for out-of-range numbers; unlisted categories via `Cleaner.canonicalCategory` of the
/// text the `unknownText` closure returns, so typo correction still applies), then the
/// compiled `FeaturePlan`, then the model. A row with a rejected or ±inf value gets a
/// `RowError` (NaN probability); the rest of the batch is scored. All buffers are
/// allocated once, in `init`; nothing is allocated per row except error messages.
/// A session is used by one thread at a time.
public final class ScoringSession {
    public let model: ScoringModel
    public let maxRows: Int
    /// The model's plan, copied once here so the hot path borrows it (no per-call copy).
    let plan: FeaturePlan
    /// The model's `LogitModel` (borrowed per call, never copied).
    let logitModel: any LogitModel
    let threshold: Double
    // Flat, manually allocated buffers (stable addresses; freed in deinit).
    // numeric input j, row r: numStore[j * maxRows + r]; categorical k: codeStore[k * maxRows + r].
    let numStore: UnsafeMutablePointer<Double>
    let codeStore: UnsafeMutablePointer<Int32>
    /// One buffer per numeric / categorical input over the stores (built once, passed to
    /// `FeaturePlan.transform` without building an array per call).
    let numBuffers: [UnsafeBufferPointer<Double>]
    let codeBuffers: [UnsafeBufferPointer<Int32>]
    let features: UnsafeMutableBufferPointer<Float>
    let logits: UnsafeMutableBufferPointer<Float>
    let probabilities: UnsafeMutableBufferPointer<Double>
    let contrib: UnsafeMutableBufferPointer<Float>
    let perFeature: UnsafeMutableBufferPointer<Double>
    let taken: UnsafeMutableBufferPointer<Bool>
    var errors: [RowError?]
    /// Cleaned category per categorical input and row (only for categories unseen in training).
    var categoryText: [[String?]]
    let scratch: ModelScratch
    var rowCount = 0

    init(model: ScoringModel, maxRows: Int) {
        precondition(maxRows > 0)
        self.model = model
        self.maxRows = maxRows
        plan = model.plan
        logitModel = model.model
        threshold = model.threshold
        let nNum = plan.numericFeatures.count, nCat = plan.categoricalFeatures.count
        let num = UnsafeMutablePointer<Double>.allocate(capacity: max(1, nNum * maxRows))
        num.initialize(repeating: .nan, count: max(1, nNum * maxRows))
        let codes = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, nCat * maxRows))
        codes.initialize(repeating: -1, count: max(1, nCat * maxRows))
        numStore = num
        codeStore = codes
        numBuffers = (0..<nNum).map { j in UnsafeBufferPointer(start: num + j * maxRows, count: maxRows) }
        codeBuffers = (0..<nCat).map { k in UnsafeBufferPointer(start: codes + k * maxRows, count: maxRows) }
        categoryText = plan.categoricalFeatures.map { _ in [String?](repeating: nil, count: maxRows) }
        features = .allocate(capacity: maxRows * plan.width)
        features.initialize(repeating: 0)
        logits = .allocate(capacity: maxRows)
        logits.initialize(repeating: 0)
        probabilities = .allocate(capacity: maxRows)
        probabilities.initialize(repeating: .nan)
        errors = [RowError?](repeating: nil, count: maxRows)
        contrib = .allocate(capacity: plan.width)
        contrib.initialize(repeating: 0)
        perFeature = .allocate(capacity: model.featureStats.count)
        perFeature.initialize(repeating: 0)
        taken = .allocate(capacity: model.featureStats.count)
        taken.initialize(repeating: false)
        scratch = model.model.makeScratch(maxRows: maxRows)
    }

    deinit {
        numStore.deallocate(); codeStore.deallocate()
        features.deallocate(); logits.deallocate(); probabilities.deallocate()
        contrib.deallocate(); perFeature.deallocate(); taken.deallocate()
    }

    /// Scores `rows` (≤ maxRows) applicants given the model's category codes (see the type's
    /// doc): listed categories need no translation here. `unknownText(k, row)` supplies the
    /// raw text of a value coded -2 (not in the schema list; only called for those,
    /// non-escaping) for the cleaner's typo rules. Without it (nil) such a value counts as
    /// the cleaner's "unknown" category (features with a vocabulary) or as a category unseen
    /// in training. Returns the number of row errors.
    @discardableResult
    public func score(numeric input: [UnsafeBufferPointer<Double>], categoryCodes: [UnsafeBufferPointer<Int32>], rows: Int,
                      unknownText: (_ categorical: Int, _ row: Int) -> String? = { _, _ in nil }) -> Int {
        precondition(categoryCodes.count == plan.categoricalFeatures.count,
                     "ScoringSession: expected \(plan.categoricalFeatures.count) categorical columns")
        begin(rows: rows)
        for k in 0..<categoryCodes.count {
            let src = categoryCodes[k]
            precondition(src.count >= rows)
            let fallback = model.unknownCode[k]
            let unseen = Int32(plan.catCardinality[k])
            let dst = codeStore + k * maxRows
            do {
                for r in 0..<rows {
                    let c = src[r]
                    var code: Int32
                    if c == -1 {
                        code = -1
                    } else if c >= 0 && c <= unseen {
                        code = c
                    } else if let text = unknownText(k, r) {
                        let canonical = model.cleaner.canonicalCategory(text, feature: plan.categoricalFeatures[k])
                        code = plan.code(canonical, categorical: k)
                        if code == unseen { categoryText[k][r] = canonical }
                    } else {
                        code = fallback
                        if code == unseen { categoryText[k][r] = nil }
                    }
                    dst[r] = code
                }
            }
        }
        return finish(numeric: input, rows: rows)
    }

    /// Scores `rows` (≤ maxRows) applicants given raw category strings: `categorical[k]`
    /// holds feature `model.plan.categoricalFeatures[k]` (nil = missing). Returns the
    /// number of row errors.
    @discardableResult
    public func score(numeric input: [UnsafeBufferPointer<Double>], categorical: [[String?]], rows: Int) -> Int {
        precondition(categorical.count == plan.categoricalFeatures.count,
                     "ScoringSession: expected \(plan.categoricalFeatures.count) categorical columns")
        begin(rows: rows)
        for (k, name) in plan.categoricalFeatures.enumerated() {
            let src = categorical[k]
            precondition(src.count >= rows)
            let unseen = Int32(plan.catCardinality[k])
            let dst = codeStore + k * maxRows
            for r in 0..<rows {
                let c = model.cleaner.canonicalCategory(src[r], feature: name)
                let code = plan.code(c, categorical: k)
                if code == unseen { categoryText[k][r] = c }
                dst[r] = code
            }
        }
        return finish(numeric: input, rows: rows)
    }

    private func begin(rows: Int) {
        precondition(rows >= 0 && rows <= maxRows, "ScoringSession: \(rows) rows > maxRows \(maxRows)")
        rowCount = rows
        errors.withUnsafeMutableBufferPointer { e in
            for r in 0..<rows where e[r] != nil { e[r] = nil }
        }
    }

    private func finish(numeric input: [UnsafeBufferPointer<Double>], rows: Int) -> Int {
        precondition(input.count == plan.numericFeatures.count,
                     "ScoringSession: expected \(plan.numericFeatures.count) numeric columns")
        var errorCount = 0
        for j in 0..<input.count {
            let src = input[j]
            precondition(src.count >= rows)
            let lo = model.numericRanges[j].lowerBound, hi = model.numericRanges[j].upperBound
            let dst = numStore + j * maxRows
            var firstOutside = -1
            for r in 0..<rows {
                let raw = src[r]
                dst[r] = raw
                if firstOutside < 0 && !(raw.isNaN || (raw >= lo && raw <= hi)) { firstOutside = r }
            }
            guard firstOutside >= 0 else { continue }
            // Rare: values outside the valid range go through the cleaner (String work only here).
            let name = plan.numericFeatures[j]
            for r in firstOutside..<rows {
                let raw = src[r]
                if raw.isNaN || (raw >= lo && raw <= hi) { continue }
                if raw.isInfinite {
                    if errors[r] == nil { errorCount += 1; errors[r] = RowError(row: r, field: name, value: "\(raw)", reason: "not a finite number") }
                    dst[r] = .nan
                    continue
                }
                switch model.cleaner.cleanNumeric(raw, feature: name) {
                case .value(let v): dst[r] = v ?? .nan
                case .rejected(let reason):
                    if errors[r] == nil { errorCount += 1; errors[r] = RowError(row: r, field: name, value: formatNumber(raw), reason: reason) }
                    dst[r] = .nan
                }
            }
        }
        plan.transform(numeric: numBuffers, categorical: codeBuffers, rows: 0..<rows, into: features)
        logitModel.logits(UnsafeBufferPointer(features), logits, rows: 0..<rows, scratch: scratch)
        for r in 0..<rows { probabilities[r] = ScoringModel.probability(logits[r]) }
        if errorCount > 0 {
            for r in 0..<rows where errors[r] != nil { probabilities[r] = .nan }
        }
        return errorCount
    }

    /// Probability of default of row `r` of the last batch (NaN when the row has an error).
    public func probability(_ r: Int) -> Double { precondition(r < rowCount); return probabilities[r] }
    public func refuse(_ r: Int) -> Bool { probability(r) >= threshold }
    public func error(_ r: Int) -> RowError? { precondition(r < rowCount); return errors[r] }

    /// Whether approved applicants get reasons too (default false: reasons explain a refusal;
    /// an approved applicant gets none unless asked).
    public var reasonsForApproved = false

    /// Calls `body(feature, text, contribution)` for up to `limit` reasons of row `r`,
    /// strongest first; `feature` indexes `model.inputFields` (spec order). Only refused rows
    /// have reasons unless `reasonsForApproved`. No allocation (the wording strings are
    /// precomputed per feature and category; only a category unseen in training builds its
    /// text). `body` must not call back into this session.
    public func forEachReason(_ r: Int, limit: Int = 4, _ body: (_ feature: Int, _ text: String, _ contribution: Double) -> Void) {
        precondition(r < rowCount)
        guard errors[r] == nil, reasonsForApproved || refuse(r) else { return }
        let w = plan.width
        _ = logitModel.contributions(UnsafeBufferPointer(rebasing: features[(r * w)..<((r + 1) * w)]), contrib, scratch: scratch)
        let m = model, numStore = self.numStore, codeStore = self.codeStore, maxRows = self.maxRows
        m.wording.topReasons(contributions: UnsafeBufferPointer(contrib), perFeature: perFeature, taken: taken, limit: limit, value: { f in
            let slot = m.featureSlot[f]
            if m.featureIsNumeric[f] {
                let v = numStore[slot * maxRows + r]
                return .numeric(v.isNaN ? nil : v)
            }
            let code = codeStore[slot * maxRows + r]
            let unseen = code == Int32(plan.catCardinality[slot]) ? categoryText[slot][r] : nil
            return .categoryCode(k: slot, code: code, unseen: unseen)
        }, emit: body)
    }

    /// Up to `limit` reason codes of row `r` of the last batch (empty for an error row).
    public func reasons(_ r: Int, limit: Int = 4) -> [Reason] {
        var out: [Reason] = []
        forEachReason(r, limit: limit) { f, text, c in
            out.append(Reason(feature: model.featureStats[f].name, text: text, contribution: c))
        }
        return out
    }
}
