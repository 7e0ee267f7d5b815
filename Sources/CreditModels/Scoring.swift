import CreditDomain
import Foundation

/// One adverse-action reason: a raw feature that raised this applicant's risk.
public struct ReasonCode: Codable, Sendable, Equatable {
    /// The spec feature name.
    public var feature: String
    /// The wording for the notice (from the spec's `reason_high`/`reason_low`/`reason_missing`,
    /// else generated from the label).
    public var text: String
    /// The feature's summed contribution to the log-odds (> 0).
    public var contribution: Double
}

/// A scored applicant.
public struct Score: Sendable, Equatable {
    public var probability: Double
    public var logit: Double
    /// true = refuse (probability >= the model's threshold).
    public var refuse: Bool
    /// Up to four reasons, strongest first.
    public var reasons: [ReasonCode]
}

/// The result for one input row: a score, or the error that kept it from being scored.
public struct ApplicantResult: Sendable, Equatable {
    /// The input row (0-based, input order).
    public var row: Int
    public var id: String?
    public var outcome: Outcome

    public enum Outcome: Sendable, Equatable {
        case scored(Score)
        case error(RowError)
    }

    public var score: Score? { if case .scored(let s) = outcome { return s }; return nil }
    public var error: RowError? { if case .error(let e) = outcome { return e }; return nil }
}

/// A loaded model artifact, ready to score. Immutable and thread-safe; per-thread buffers
/// live in a `ScoringSession`.
///
/// Two ways in:
/// - `score(_ table:)`: a raw `DataTable` (CLI batch scoring). The spec's `Cleaner`
///   (purpose `.scoring`) runs first; every input row comes back, scored or with an error.
/// - `makeSession(maxRows:)` → `ScoringSession.score(numeric:categoryCodes:rows:unknownText:)`
///   (or `score(numeric:categorical:rows:)` with strings): raw columnar input for a server,
///   no per-row allocation; reasons streamed with `forEachReason`.
public final class ScoringModel: Sendable {
    public let artifact: ModelArtifact
    public let modelID: String
    public let cleaner: Cleaner
    public let plan: FeaturePlan
    public var threshold: Double { artifact.threshold.threshold }
    public var algorithm: String { artifact.model.algorithm }
    let model: any LogitModel
    /// For each model input column, the index of its source feature (spec order).
    let columnFeature: [Int]
    /// For each spec feature, its index among numeric (or categorical) plan inputs.
    let featureSlot: [Int]
    let featureStats: [FeatureStats]
    // Reason wording per feature (spec order), precomputed so wording allocates nothing.
    let highText: [String]
    let lowText: [String]
    let missingText: [String]
    let labelText: [String]
    let medians: [Double]
    let featureIsNumeric: [Bool]
    /// Per categorical plan input: the wording for each training category code.
    let categoryReason: [[String]]
    /// The raw features a request carries, in spec order (the artifact schema without the id).
    public let inputFields: [RawField]
    /// Per numeric plan input: the valid range (values inside need no cleaning).
    let numericRanges: [ClosedRange<Double>]
    /// Per categorical plan input: schema category index → plan code.
    let schemaToPlan: [[Int32]]
    /// Per categorical plan input: the plan code of a value outside the schema list when
    /// its text is unknown ("unknown" when the feature has a vocabulary, else unseen).
    let unknownCode: [Int32]

    public convenience init(path: String) throws {
        let (artifact, id) = try ModelArtifact.load(path: path)
        try self.init(artifact: artifact, modelID: id)
    }

    public init(artifact: ModelArtifact, modelID: String) throws {
        self.artifact = artifact
        self.modelID = modelID
        self.cleaner = try Cleaner(spec: artifact.spec)
        let plan = artifact.preprocessor.plan(artifact.encoding)
        self.plan = plan
        self.model = artifact.model.model
        let feats = artifact.preprocessor.features
        self.featureStats = feats
        let index = Dictionary(uniqueKeysWithValues: feats.enumerated().map { ($1.name, $0) })
        self.columnFeature = plan.columns.map { index[$0.source]! }
        var slots: [Int] = []
        var nNum = 0, nCat = 0
        for f in feats {
            if f.kind == .numeric { slots.append(nNum); nNum += 1 } else { slots.append(nCat); nCat += 1 }
        }
        self.featureSlot = slots
        let specs = feats.map { artifact.spec.feature(named: $0.name) }
        let labels = zip(feats, specs).map { f, spec in spec?.label ?? f.name.replacingOccurrences(of: "_", with: " ") }
        self.labelText = labels
        self.highText = zip(labels, specs).map { label, spec in spec?.reasonHigh ?? "\(label) is too high" }
        self.lowText = zip(labels, specs).map { label, spec in spec?.reasonLow ?? "\(label) is too low" }
        self.missingText = zip(labels, specs).map { label, spec in spec?.reasonMissing ?? "\(label) is missing" }
        self.medians = feats.map { $0.median ?? 0 }
        self.featureIsNumeric = feats.map { $0.kind == .numeric }
        self.categoryReason = plan.categoricalFeatures.map { name in
            let f = index[name]!
            // A category's reason names the category ("loan grade is D"): one sentence for all
            // categories of a feature would be false for some of them.
            return (feats[f].categories ?? []).map { c in "\(labels[f]) is \(c)" }
        }
        self.inputFields = artifact.schema.filter { $0.role == "feature" }
        self.numericRanges = plan.numericFeatures.map { name in
            let r = artifact.spec.feature(named: name)?.range
            return (r?.min ?? -Double.greatestFiniteMagnitude)...(r?.max ?? Double.greatestFiniteMagnitude)
        }
        let fieldsByName = Dictionary(uniqueKeysWithValues: artifact.schema.filter { $0.role == "feature" }.map { ($0.name, $0) })
        self.schemaToPlan = plan.categoricalFeatures.enumerated().map { k, name in
            (fieldsByName[name]?.categories ?? []).map { plan.code($0, categorical: k) }
        }
        self.unknownCode = plan.categoricalFeatures.enumerated().map { k, name in
            artifact.spec.feature(named: name)?.vocabulary != nil ? plan.code(Cleaner.unknownCategory, categorical: k) : plan.code("\u{0}unseen", categorical: k)
        }
        guard model.inputWidth == plan.width else {
            throw ArtifactError(description: "model input width \(model.inputWidth) does not match preprocessing width \(plan.width)")
        }
    }

    @inline(__always) static func probability(_ logit: Float) -> Double {
        let z = Double(logit)
        return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
    }

    /// Probabilities of default for the rows of an already *cleaned* table (evaluation).
    public func probabilities(cleaned table: DataTable) throws -> [Double] {
        let x = try artifact.preprocessor.transform(table, encoding: artifact.encoding)
        var logits = [Float](repeating: 0, count: x.rows)
        let scratch = model.makeScratch(maxRows: max(1, x.rows))
        x.values.withUnsafeBufferPointer { input in
            logits.withUnsafeMutableBufferPointer { out in
                model.logits(input, out, rows: 0..<x.rows, scratch: scratch)
            }
        }
        return logits.map(Self.probability)
    }

    /// Scores a raw table (input order preserved; every row gets a score or an error).
    public func score(_ table: DataTable, reasons: Bool = true) throws -> [ApplicantResult] {
        let idColumn = table.column(named: artifact.spec.id)
        var results: [ApplicantResult?] = Array(repeating: nil, count: table.rowCount)
        func id(_ r: Int) -> String? { idColumn.flatMap { $0.isMissing(row: r) ? nil : $0.text(row: r) } }

        let cleaned = try cleaner.clean(table, purpose: .scoring)
        for e in cleaned.rowErrors where e.row >= 0 && e.row < table.rowCount && results[e.row] == nil {
            results[e.row] = ApplicantResult(row: e.row, id: id(e.row), outcome: .error(e))
        }
        // ±inf in the raw input is a row error, never silently imputed (as in ScoringSession).
        for f in featureStats where f.kind == .numeric {
            guard let col = table.column(named: f.name) else { continue }
            for r in 0..<table.rowCount where results[r] == nil {
                let x: Double?
                switch col.values {
                case .numeric(let v): x = v[r]
                case .categorical(let v): x = v[r].flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                }
                if let x, x.isInfinite {
                    results[r] = ApplicantResult(row: r, id: id(r), outcome: .error(
                        RowError(row: r, field: f.name, value: "\(x)", reason: "not a finite number")))
                }
            }
        }
        // Rows of the cleaned table still to score (the cleaner may keep or drop error rows).
        let good = cleaned.sourceRows.indices.filter { results[cleaned.sourceRows[$0]] == nil }
        if !good.isEmpty {
            let x = try artifact.preprocessor.transform(cleaned.table, encoding: artifact.encoding, rows: good)
            let scratch = model.makeScratch(maxRows: good.count)
            var logits = [Float](repeating: 0, count: good.count)
            var contrib = [Float](repeating: 0, count: plan.width)
            var perFeature = [Double](repeating: 0, count: featureStats.count)
            let cols = featureStats.map { cleaned.table.column(named: $0.name)! }
            x.values.withUnsafeBufferPointer { input in
                logits.withUnsafeMutableBufferPointer { out in
                    model.logits(input, out, rows: 0..<good.count, scratch: scratch)
                }
                for (i, k) in good.enumerated() {
                    let src = cleaned.sourceRows[k]
                    let p = Self.probability(logits[i])
                    var codes: [ReasonCode] = []
                    if reasons {
                        let row = UnsafeBufferPointer(rebasing: input[(i * plan.width)..<((i + 1) * plan.width)])
                        contrib.withUnsafeMutableBufferPointer { c in
                            _ = model.contributions(row, c, scratch: scratch)
                        }
                        codes = reasonCodes(contributions: contrib, perFeature: &perFeature) { f in
                            switch cols[f].values {
                            case .numeric(let v): return (v[k], nil)
                            case .categorical(let v): return (nil, v[k])
                            }
                        }
                    }
                    results[src] = ApplicantResult(row: src, id: id(src), outcome: .scored(
                        Score(probability: p, logit: Double(logits[i]), refuse: p >= threshold, reasons: codes)))
                }
            }
        }
        return results.enumerated().map { r, result in
            result ?? ApplicantResult(row: r, id: id(r), outcome: .error(
                RowError(row: r, field: artifact.spec.id, value: id(r) ?? "", reason: "row was dropped by cleaning")))
        }
    }

    /// The cleaned value of a feature for wording a reason.
    enum ReasonValue {
        case numeric(Double?)
        case category(String?)
        /// Session path: plan code of categorical input `k` (text only for unseen categories).
        case categoryCode(k: Int, code: Int32, unseen: String?)
    }

    /// Sums column contributions by source feature and emits the (up to) `limit` largest
    /// positive ones, strongest first, with their wording. Allocation-free: `perFeature`
    /// and `taken` are caller scratch of `featureStats.count` elements.
    func topReasons(contributions: UnsafeBufferPointer<Float>, perFeature: UnsafeMutableBufferPointer<Double>,
                    taken: UnsafeMutableBufferPointer<Bool>, limit: Int,
                    value: (Int) -> ReasonValue, emit: (Int, String, Double) -> Void) {
        for f in 0..<perFeature.count { perFeature[f] = 0; taken[f] = false }
        columnFeature.withUnsafeBufferPointer { source in
            for j in 0..<contributions.count { perFeature[source[j]] += Double(contributions[j]) }
        }
        for _ in 0..<limit {
            var best = -1
            for f in 0..<perFeature.count where !taken[f] && perFeature[f] > 0 {
                if best < 0 || perFeature[f] > perFeature[best] { best = f }
            }
            guard best >= 0 else { return }
            taken[best] = true
            emit(best, reasonText(feature: best, value: value(best)), perFeature[best])
        }
    }

    /// The adverse-action wording of feature `f` with cleaned value `value`.
    func reasonText(feature f: Int, value: ReasonValue) -> String {
        switch value {
        case .numeric(let x):
            guard let x, x.isFinite else { return missingText[f] }
            return x >= medians[f] ? highText[f] : lowText[f]
        case .category(let c):
            guard let c else { return missingText[f] }
            return "\(labelText[f]) is \(c)"
        case .categoryCode(let k, let code, let unseen):
            if code < 0 { return missingText[f] }
            if Int(code) < categoryReason[k].count { return categoryReason[k][Int(code)] }
            return "\(labelText[f]) is \(unseen ?? Cleaner.unknownCategory)"
        }
    }

    /// Reason codes for one row (allocating convenience over `topReasons`).
    func reasonCodes(contributions: [Float], perFeature: inout [Double], limit: Int = 4,
                     value: (Int) -> (Double?, String?)) -> [ReasonCode] {
        var taken = [Bool](repeating: false, count: featureStats.count)
        var out: [ReasonCode] = []
        contributions.withUnsafeBufferPointer { c in
            perFeature.withUnsafeMutableBufferPointer { p in
                taken.withUnsafeMutableBufferPointer { t in
                    topReasons(contributions: c, perFeature: p, taken: t, limit: limit, value: { f in
                        let (num, cat) = value(f)
                        return featureStats[f].kind == .numeric ? .numeric(num) : .category(cat)
                    }, emit: { f, text, c in out.append(ReasonCode(feature: featureStats[f].name, text: text, contribution: c)) })
                }
            }
        }
        return out
    }

    public func makeSession(maxRows: Int) -> ScoringSession { ScoringSession(model: self, maxRows: maxRows) }
}

/// Per-thread scoring buffers for columnar raw input (what a server calls).
///
/// ```swift
/// let session = model.makeSession(maxRows: 1024)
/// // numeric[j]: raw values of model.plan.numericFeatures[j] (NaN = missing);
/// // codes[k]: for model.plan.categoricalFeatures[k], the index of the value in that
/// // feature's `model.inputFields` categories, -1 missing, any other value not listed.
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

    /// Scores `rows` (≤ maxRows) applicants given category codes (see the type's doc).
    /// `unknownText(k, row)` supplies the raw text of a category that is not in the
    /// schema list (only called for those; non-escaping). Without it (nil) such a value
    /// counts as the cleaner's "unknown" category (features with a vocabulary) or as a
    /// category unseen in training. Returns the number of row errors.
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
            model.schemaToPlan[k].withUnsafeBufferPointer { table in
                for r in 0..<rows {
                    let c = src[r]
                    var code: Int32
                    if c == -1 {
                        code = -1
                    } else if c >= 0 && Int(c) < table.count {
                        code = table[Int(c)]
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

    /// Calls `body(feature, text, contribution)` for up to `limit` reasons of row `r`,
    /// strongest first; `feature` indexes `model.inputFields` (spec order). No allocation
    /// (the wording strings are precomputed per feature and category; only a category
    /// unseen in training builds its text). `body` must not call back into this session.
    public func forEachReason(_ r: Int, limit: Int = 4, _ body: (_ feature: Int, _ text: String, _ contribution: Double) -> Void) {
        precondition(r < rowCount)
        guard errors[r] == nil else { return }
        let w = plan.width
        _ = logitModel.contributions(UnsafeBufferPointer(rebasing: features[(r * w)..<((r + 1) * w)]), contrib, scratch: scratch)
        let m = model, numStore = self.numStore, codeStore = self.codeStore, maxRows = self.maxRows
        m.topReasons(contributions: UnsafeBufferPointer(contrib), perFeature: perFeature, taken: taken, limit: limit, value: { f in
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
    public func reasons(_ r: Int, limit: Int = 4) -> [ReasonCode] {
        var out: [ReasonCode] = []
        forEachReason(r, limit: limit) { f, text, c in
            out.append(ReasonCode(feature: model.featureStats[f].name, text: text, contribution: c))
        }
        return out
    }
}
