import CreditModels
import CreditServer

/// The daemon's view of a `.credit` artifact: CreditModels' `ScoringModel` adapted to
/// CreditServer's `ScoringBackend`. The only place where serving meets the model, so that
/// the daemon scores exactly what `credit score --model` scores in process.
public struct ArtifactBackend: ScoringBackend {
    public let model: ScoringModel
    public let info: ModelDescription
    /// For each numeric (categorical) input of the model's plan: its index in `info.fields`.
    let numericField: [Int]
    let categoricalField: [Int]
    /// For each raw input feature of the model (spec order): its index in `info.fields`.
    let reasonField: [Int32]

    /// Loads and verifies the artifact (refuses a damaged or newer file with a clear message).
    public init(path: String) throws {
        try self.init(model: ScoringModel(path: path))
    }

    public init(model: ScoringModel) {
        self.model = model
        let fields = model.inputFields.map {
            SchemaField(name: $0.name, kind: $0.kind == .numeric ? .numeric : .categorical,
                        categories: $0.categories ?? [])
        }
        let m = model.artifact.metrics
        var metrics: [(name: String, value: Double)] = []
        for (set, e) in [("training", m.training), ("validation", m.validation)] {
            metrics += [("\(set)_rows", Double(e.rows)), ("\(set)_roc_auc", e.rocAUC), ("\(set)_pr_auc", e.prAUC),
                        ("\(set)_ks", e.ks), ("\(set)_brier", e.brier), ("\(set)_log_loss", e.logLoss),
                        ("\(set)_precision", e.precision), ("\(set)_recall", e.recall)]
        }
        info = ModelDescription(modelId: model.modelID, algorithm: model.algorithm, threshold: model.threshold,
                                thresholdMode: model.artifact.threshold.mode, fields: fields, metrics: metrics)
        let index = Dictionary(uniqueKeysWithValues: fields.enumerated().map { ($1.name, $0) })
        numericField = model.plan.numericFeatures.map { index[$0]! }
        categoricalField = model.plan.categoricalFeatures.map { index[$0]! }
        reasonField = model.inputFields.map { Int32(index[$0.name]!) }
    }

    public func makeScratch(maxRows: Int) -> any ScoringScratch {
        SessionScratch(session: model.makeSession(maxRows: maxRows),
                       numericInputs: numericField.count, categoricalInputs: categoricalField.count)
    }

    public func score(_ batch: borrowing ColumnarApplicants, into results: inout ScoreResults,
                      scratch: any ScoringScratch) {
        let s = scratch as! SessionScratch
        let n = batch.count
        // Column views are rebuilt in the scratch's arrays (capacity kept): nothing is
        // allocated per applicant, nor per batch once the scratch is warm.
        s.numeric.removeAll(keepingCapacity: true)
        for f in numericField { s.numeric.append(batch.numeric(f)) }
        s.codes.removeAll(keepingCapacity: true)
        for f in categoricalField { s.codes.append(batch.categoryCodes(f)) }
        let categoricalField = self.categoricalField
        s.session.score(numeric: s.numeric, categoryCodes: s.codes, rows: n) { k, row in
            batch.text(field: categoricalField[k], row: row)
        }
        let reasonField = self.reasonField
        for r in 0..<n {
            if let e = s.session.error(r) {
                results.setError(row: r, field: e.field, value: e.value, reason: e.reason)
                continue
            }
            results.setScore(row: r, probability: s.session.probability(r),
                             decision: s.session.refuse(r) ? .refuse : .approve)
            s.session.forEachReason(r) { f, text, c in
                results.addReason(row: r, field: reasonField[f], text: text, contribution: c)
            }
        }
    }

    /// The loader `creditd` hands to `buildDaemon` (also for `Reload` and SIGHUP).
    public static let loader: ModelLoader = { path in try ArtifactBackend(path: path) }
}

/// One scoring thread's buffers: the model's session and reusable column views.
final class SessionScratch: ScoringScratch {
    let session: ScoringSession
    var numeric: [UnsafeBufferPointer<Double>]
    var codes: [UnsafeBufferPointer<Int32>]

    init(session: ScoringSession, numericInputs: Int, categoricalInputs: Int) {
        self.session = session
        numeric = []
        numeric.reserveCapacity(numericInputs)
        codes = []
        codes.reserveCapacity(categoricalInputs)
    }
}
