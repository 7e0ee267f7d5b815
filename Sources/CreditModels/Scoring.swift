import CreditDomain
import Foundation

/// A scored applicant.
public struct Score: Sendable, Equatable {
    public var probability: Double
    public var logit: Double
    /// true = refuse (probability >= the model's threshold).
    public var refuse: Bool
    /// Up to four reasons, strongest first.
    public var reasons: [Reason]
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
/// - `makeSession(maxRows:)` → `ScoringSession.score(numeric:categoryCodes:rows:unknownText:)` (the model's own category codes, `categoryCodes`)
///   (or `score(numeric:categorical:rows:)` with strings): raw columnar input for a server,
///   no per-row allocation; reasons streamed with `forEachReason`.
public final class ScoringModel: Sendable {
    public let artifact: ModelArtifact
    public let modelID: String
    /// The artifact's spec compiled once (kinds as trained): cleaning, ranges and wording.
    public let schema: Schema
    public let cleaner: Cleaner
    public let plan: FeaturePlan
    public var threshold: Double { artifact.threshold.threshold }
    public var algorithm: String { artifact.model.algorithm }
    let model: any LogitModel
    /// For each spec feature, its index among numeric (or categorical) plan inputs.
    let featureSlot: [Int]
    let featureStats: [FeatureStats]
    let featureIsNumeric: [Bool]
    /// Reason codes: contributions summed by feature, worded from the schema.
    let wording: ReasonWording
    /// The raw features a request carries, in spec order (the artifact schema without the id).
    public let inputFields: [RawField]
    /// Per numeric plan input: the valid range (values inside need no cleaning).
    let numericRanges: [ClosedRange<Double>]
    /// Per categorical plan input: schema category index → plan code.
    let schemaToPlan: [[Int32]]
    /// Per input field (`inputFields` order): the model's code of each of its schema
    /// categories (empty for numeric fields). A server maps a request's text straight to
    /// these, so a category is translated once (`ScoringSession.score(numeric:categoryCodes:...)`).
    public let categoryCodes: [[Int32]]
    /// Per categorical plan input: the plan code of a value outside the schema list when
    /// its text is unknown ("unknown" when the feature has a vocabulary, else unseen).
    let unknownCode: [Int32]

    /// Who signed the file it was loaded from (nil: unsigned, or not loaded from a file).
    public let signer: ArtifactSigner?

    /// Loads a `.credit` file, signed or not; with `trusted`, only one signed by those keys.
    public convenience init(path: String, trusted: TrustedKeys? = nil) throws {
        let (artifact, id, signer) = try ModelArtifact.load(path: path, trusted: trusted)
        try self.init(artifact: artifact, modelID: id, signer: signer)
    }

    public init(artifact: ModelArtifact, modelID: String, signer: ArtifactSigner? = nil) throws {
        self.artifact = artifact
        self.modelID = modelID
        self.signer = signer
        let feats = artifact.preprocessor.features
        // Kinds the spec leaves open are the ones training fitted.
        let schema = try Schema(spec: artifact.spec, kinds: Dictionary(feats.map { ($0.name, $0.kind) }, uniquingKeysWith: { a, _ in a }))
        guard schema.features.map(\.name) == feats.map(\.name), schema.features.map(\.kind) == feats.map(\.kind) else {
            throw ArtifactError(description: "the model's preprocessing does not match its spec's features")
        }
        self.schema = schema
        self.cleaner = Cleaner(schema: schema)
        let plan = artifact.preprocessor.plan(artifact.encoding)
        self.plan = plan
        self.model = artifact.model.model
        self.featureStats = feats
        var slots: [Int] = []
        var nNum = 0, nCat = 0
        for f in feats {
            if f.kind == .numeric { slots.append(nNum); nNum += 1 } else { slots.append(nCat); nCat += 1 }
        }
        self.featureSlot = slots
        self.featureIsNumeric = feats.map { $0.kind == .numeric }
        self.wording = ReasonWording(schema: schema, stats: feats, plan: plan)
        self.inputFields = artifact.schema.filter { $0.role == "feature" }
        self.numericRanges = plan.numericFeatures.map { schema.feature(named: $0)!.validRange }
        let fieldsByName = Dictionary(uniqueKeysWithValues: artifact.schema.filter { $0.role == "feature" }.map { ($0.name, $0) })
        let schemaToPlan = plan.categoricalFeatures.enumerated().map { k, name in
            (fieldsByName[name]?.categories ?? []).map { plan.code($0, categorical: k) }
        }
        self.schemaToPlan = schemaToPlan
        let planIndex = Dictionary(uniqueKeysWithValues: plan.categoricalFeatures.enumerated().map { ($1, $0) })
        self.categoryCodes = artifact.schema.filter { $0.role == "feature" }.map { f in planIndex[f.name].map { schemaToPlan[$0] } ?? [] }
        self.unknownCode = plan.categoricalFeatures.enumerated().map { k, name in
            schema.feature(named: name)!.vocabulary != nil ? plan.code(Cleaner.unknownCategory, categorical: k) : plan.code("\u{0}unseen", categorical: k)
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
    /// Refused applicants get up to four reasons (`reasons`), approved ones only when
    /// `reasonsForApproved`.
    public func score(_ table: DataTable, reasons: Bool = true, reasonsForApproved: Bool = false) throws -> [ApplicantResult] {
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
                    var codes: [Reason] = []
                    if reasons && (reasonsForApproved || p >= threshold) {
                        let row = UnsafeBufferPointer(rebasing: input[(i * plan.width)..<((i + 1) * plan.width)])
                        contrib.withUnsafeMutableBufferPointer { c in
                            _ = model.contributions(row, c, scratch: scratch)
                        }
                        codes = wording.reasonCodes(contributions: contrib, perFeature: &perFeature) { f in
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

    public func makeSession(maxRows: Int) -> ScoringSession { ScoringSession(model: self, maxRows: maxRows) }
}

