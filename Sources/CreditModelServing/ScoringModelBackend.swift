import CreditDomain
import CreditModels
import CreditService

/// The real model behind `creditd`: CreditModels' `ScoringModel` (a loaded `.credit`
/// artifact) adapted to CreditService's `ScoringBackend`. Scoring goes through a
/// `ScoringSession` per thread (the backend scratch), fed the daemon's columns in place:
/// numeric columns as `UnsafeBufferPointer<Double>` (NaN = missing) and categorical columns
/// as codes into the artifact schema's category lists (-1 missing, -2 not listed, with the
/// raw text supplied for the cleaner's typo rules and the row error).
public final class ScoringModelBackend: ScoringBackend {
    public let model: ScoringModel
    public let info: ModelDescription
    /// For each of `model.plan.numericFeatures` / `categoricalFeatures`: its index in `info.fields`.
    let numericField: [Int]
    let categoricalField: [Int]
    public let driftReference: [FeatureDistribution]?
    public let reportJSON: [UInt8]?

    public init(model: ScoringModel) {
        self.model = model
        let fields = model.inputFields.map {
            SchemaField(name: $0.name, kind: $0.kind, categories: $0.categories ?? [])
        }
        let index = Dictionary(uniqueKeysWithValues: fields.enumerated().map { ($1.name, $0) })
        numericField = model.plan.numericFeatures.map { index[$0]! }
        categoricalField = model.plan.categoricalFeatures.map { index[$0]! }
        let m = model.artifact.metrics
        let metrics: [(name: String, value: Double)] = [
            ("validation_roc_auc", m.validation.rocAUC), ("validation_pr_auc", m.validation.prAUC),
            ("validation_ks", m.validation.ks), ("validation_brier", m.validation.brier),
            ("validation_log_loss", m.validation.logLoss), ("validation_precision", m.validation.precision),
            ("validation_recall", m.validation.recall), ("validation_f1", m.validation.f1),
            ("training_roc_auc", m.training.rocAUC), ("training_log_loss", m.training.logLoss),
        ]
        info = ModelDescription(modelId: model.modelID, algorithm: model.algorithm, threshold: model.threshold,
                                thresholdMode: model.artifact.threshold.mode, fields: fields, metrics: metrics,
                                idField: model.artifact.spec.id, query: model.artifact.spec.query ?? "",
                                signerKeyId: model.signer?.keyID ?? "")
        driftReference = model.artifact.report?.distributions
        reportJSON = (ModelReportDocument(artifact: model.artifact, modelID: model.modelID).flatMap { try? $0.json() }).map { [UInt8]($0) }
    }

    /// The model's own category codes: the service maps request text straight to them.
    public func categoryCodes(field: Int) -> [Int32]? { model.categoryCodes[field] }

    /// Loads and verifies a `.credit` artifact (what `creditd --model`, `Reload` and SIGHUP use).
    public static let loader: ModelLoader = loader(trustedKeys: nil)

    /// The loader for `creditd --trusted-keys DIR`: the directory is read again at every
    /// load (keys rotate without a restart) and an artifact not signed by one of its keys
    /// is refused before its body is parsed.
    public static func loader(trustedKeys directory: String?) -> ModelLoader {
        { path in
            let trusted = try directory.map { try TrustedKeys(directory: $0) }
            return ScoringModelBackend(model: try ScoringModel(path: path, trusted: trusted))
        }
    }

    final class Scratch: ScoringScratch {
        let session: ScoringSession
        var numeric: [UnsafeBufferPointer<Double>]
        var codes: [UnsafeBufferPointer<Int32>]
        init(session: ScoringSession, numeric: Int, categorical: Int) {
            self.session = session
            self.numeric = Array(repeating: UnsafeBufferPointer(start: nil, count: 0), count: numeric)
            self.codes = Array(repeating: UnsafeBufferPointer(start: nil, count: 0), count: categorical)
        }
    }

    public func makeScratch(maxRows: Int) -> any ScoringScratch {
        Scratch(session: model.makeSession(maxRows: maxRows), numeric: numericField.count, categorical: categoricalField.count)
    }

    public func score(_ batch: borrowing ColumnarApplicants, into results: inout ScoreResults, scratch: any ScoringScratch) {
        let s = scratch as! Scratch
        let n = batch.count
        let applicants = copy batch
        for j in 0..<numericField.count { s.numeric[j] = applicants.numeric(numericField[j]) }
        for k in 0..<categoricalField.count { s.codes[k] = applicants.categoryCodes(categoricalField[k]) }
        let session = s.session
        let categoricalField = self.categoricalField
        let wantReasons = applicants.reasons != .none
        session.score(numeric: s.numeric, categoryCodes: s.codes, rows: n) { k, row in
            applicants.text(field: categoricalField[k], row: row)
        }
        for r in 0..<n {
            if let e = session.error(r) {
                results.setError(row: r, field: e.field, value: e.value, reason: e.reason)
                continue
            }
            results.setScore(row: r, probability: session.probability(r), decision: session.refuse(r) ? .refuse : .approve)
            // forEachReason's feature index is into model.inputFields, which is info.fields' order.
            guard wantReasons else { continue }
            session.forEachReason(r) { f, text, contribution in
                results.addReason(row: r, field: Int32(f), text: text, contribution: contribution)
            }
        }
    }
}
