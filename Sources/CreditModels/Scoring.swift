import CreditData
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
/// - `makeSession(maxRows:)` → `ScoringSession.score(numeric:categorical:rows:)`: raw
///   columnar input for a server, no per-row allocation except reason codes on request.
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
    let reasonTexts: [(high: String, low: String, missing: String, label: String, customHigh: Bool)]

    public convenience init(path: String) throws {
        let (artifact, id) = try ModelArtifact.load(path: path)
        try self.init(artifact: artifact, modelID: id)
    }

    public init(artifact: ModelArtifact, modelID: String) throws {
        self.artifact = artifact
        self.modelID = modelID
        self.cleaner = try Cleaner(spec: artifact.spec)
        self.plan = artifact.preprocessor.plan(artifact.encoding)
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
        self.reasonTexts = feats.map { f in
            let spec = artifact.spec.feature(named: f.name)
            let label = spec?.label ?? f.name.replacingOccurrences(of: "_", with: " ")
            return (high: spec?.reasonHigh ?? "\(label) is too high",
                    low: spec?.reasonLow ?? "\(label) is too low",
                    missing: spec?.reasonMissing ?? "\(label) is missing",
                    label: label, customHigh: spec?.reasonHigh != nil)
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

    /// Sums column contributions by source feature and words the (up to) four largest
    /// positive ones. `value(f)` gives feature f's cleaned value (numeric or category; both
    /// nil when missing).
    func reasonCodes(contributions: [Float], perFeature: inout [Double], limit: Int = 4,
                     value: (Int) -> (Double?, String?)) -> [ReasonCode] {
        for f in perFeature.indices { perFeature[f] = 0 }
        for (j, c) in contributions.enumerated() { perFeature[columnFeature[j]] += Double(c) }
        var top: [(Int, Double)] = []
        for (f, c) in perFeature.enumerated() where c > 0 {
            top.append((f, c))
        }
        top.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
        return top.prefix(limit).map { f, c in
            let stats = featureStats[f], words = reasonTexts[f]
            let (num, cat) = value(f)
            let text: String
            switch stats.kind {
            case .numeric:
                if let x = num, x.isFinite {
                    text = x >= (stats.median ?? 0) ? words.high : words.low
                } else {
                    text = words.missing
                }
            case .categorical:
                if let c = cat { text = words.customHigh ? words.high : "\(words.label) is \(c)" } else { text = words.missing }
            }
            return ReasonCode(feature: stats.name, text: text, contribution: c)
        }
    }

    public func makeSession(maxRows: Int) -> ScoringSession { ScoringSession(model: self, maxRows: maxRows) }
}

/// Per-thread scoring buffers for columnar raw input (what a server calls).
///
/// ```swift
/// let session = model.makeSession(maxRows: 1024)
/// // one buffer per model.plan.numericFeatures (raw values, NaN = missing) and one
/// // array per model.plan.categoricalFeatures (raw strings, nil = missing)
/// session.score(numeric: numBuffers, categorical: catColumns, rows: n)
/// for r in 0..<n { session.probability(r); session.refuse(r); session.error(r); session.reasons(r) }
/// ```
/// Each value goes through the spec's cleaning rules (`Cleaner.cleanNumeric`,
/// `canonicalCategory`), then the compiled `FeaturePlan`, then the model. A row with a
/// rejected or non-finite value gets a `RowError` (and NaN probability); the others are
/// scored. Buffers are allocated once, in `init`.
public final class ScoringSession {
    public let model: ScoringModel
    public let maxRows: Int
    var numeric: [[Double]]
    var codes: [[Int32]]
    var features: [Float]
    var logits: [Float]
    var probabilities: [Double]
    var errors: [RowError?]
    var contrib: [Float]
    var perFeature: [Double]
    var rawCategories: [[String?]]
    let scratch: ModelScratch
    var rowCount = 0

    init(model: ScoringModel, maxRows: Int) {
        precondition(maxRows > 0)
        self.model = model
        self.maxRows = maxRows
        numeric = model.plan.numericFeatures.map { _ in [Double](repeating: .nan, count: maxRows) }
        codes = model.plan.categoricalFeatures.map { _ in [Int32](repeating: -1, count: maxRows) }
        rawCategories = model.plan.categoricalFeatures.map { _ in [String?](repeating: nil, count: maxRows) }
        features = [Float](repeating: 0, count: maxRows * model.plan.width)
        logits = [Float](repeating: 0, count: maxRows)
        probabilities = [Double](repeating: .nan, count: maxRows)
        errors = [RowError?](repeating: nil, count: maxRows)
        contrib = [Float](repeating: 0, count: model.plan.width)
        perFeature = [Double](repeating: 0, count: model.featureStats.count)
        scratch = model.model.makeScratch(maxRows: maxRows)
    }

    /// Scores `rows` (≤ maxRows) raw applicants. `numeric[j]` holds feature
    /// `model.plan.numericFeatures[j]` (NaN = missing), `categorical[k]` feature
    /// `model.plan.categoricalFeatures[k]` (nil = missing). Returns the number of row errors.
    @discardableResult
    public func score(numeric input: [UnsafeBufferPointer<Double>], categorical: [[String?]], rows: Int) -> Int {
        let plan = model.plan
        precondition(rows <= maxRows, "ScoringSession: \(rows) rows > maxRows \(maxRows)")
        precondition(input.count == plan.numericFeatures.count && categorical.count == plan.categoricalFeatures.count,
                     "ScoringSession: expected \(plan.numericFeatures.count) numeric and \(plan.categoricalFeatures.count) categorical columns")
        rowCount = rows
        for r in 0..<rows { errors[r] = nil }
        var errorCount = 0
        for (j, name) in plan.numericFeatures.enumerated() {
            let src = input[j]
            precondition(src.count >= rows)
            for r in 0..<rows {
                let raw = src[r]
                if raw.isInfinite {
                    if errors[r] == nil { errorCount += 1; errors[r] = RowError(row: r, field: name, value: "\(raw)", reason: "not a finite number") }
                    numeric[j][r] = .nan
                    continue
                }
                switch model.cleaner.cleanNumeric(raw.isNaN ? nil : raw, feature: name) {
                case .value(let v): numeric[j][r] = v ?? .nan
                case .rejected(let reason):
                    if errors[r] == nil { errorCount += 1; errors[r] = RowError(row: r, field: name, value: formatNumber(raw), reason: reason) }
                    numeric[j][r] = .nan
                }
            }
        }
        for (k, name) in plan.categoricalFeatures.enumerated() {
            let src = categorical[k]
            precondition(src.count >= rows)
            for r in 0..<rows {
                let c = model.cleaner.canonicalCategory(src[r], feature: name)
                rawCategories[k][r] = c
                codes[k][r] = plan.code(c, categorical: k)
            }
        }
        withBuffers(numeric) { num in
            withBuffers(codes) { cat in
                features.withUnsafeMutableBufferPointer { out in
                    plan.transform(numeric: num, categorical: cat, rows: 0..<rows, into: out)
                }
            }
        }
        features.withUnsafeBufferPointer { x in
            logits.withUnsafeMutableBufferPointer { out in
                model.model.logits(x, out, rows: 0..<rows, scratch: scratch)
            }
        }
        for r in 0..<rows { probabilities[r] = errors[r] == nil ? ScoringModel.probability(logits[r]) : .nan }
        return errorCount
    }

    /// Probability of default of row `r` of the last batch (NaN when the row has an error).
    public func probability(_ r: Int) -> Double { precondition(r < rowCount); return probabilities[r] }
    public func refuse(_ r: Int) -> Bool { probability(r) >= model.threshold }
    public func error(_ r: Int) -> RowError? { precondition(r < rowCount); return errors[r] }

    /// Up to `limit` reason codes of row `r` of the last batch (empty for an error row).
    public func reasons(_ r: Int, limit: Int = 4) -> [ReasonCode] {
        precondition(r < rowCount)
        guard errors[r] == nil else { return [] }
        let w = model.plan.width
        features.withUnsafeBufferPointer { x in
            contrib.withUnsafeMutableBufferPointer { c in
                _ = model.model.contributions(UnsafeBufferPointer(rebasing: x[(r * w)..<((r + 1) * w)]), c, scratch: scratch)
            }
        }
        return model.reasonCodes(contributions: contrib, perFeature: &perFeature, limit: limit) { f in
            let slot = model.featureSlot[f]
            if model.featureStats[f].kind == .numeric {
                let v = numeric[slot][r]
                return (v.isNaN ? nil : v, nil)
            }
            return (nil, rawCategories[slot][r])
        }
    }
}
