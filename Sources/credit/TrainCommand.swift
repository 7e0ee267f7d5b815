import ArgumentParser
import CreditCore
import CreditData
import CreditDomain
import CreditModels
import Foundation

/// `credit train`: fit preprocessing and a model, choose settings and the threshold by k-fold
/// cross-validation (or a validation slice), refit, write the `.credit` artifact and a metrics JSON.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on a labelled loan book and write a .credit artifact.",
        discussion: """
            Rows are cleaned by the spec and split (stratified, seeded) into training and test rows. \
            Stratified k-fold cross-validation of the training rows (--cv; 10 folds under 1,000 \
            rows, else 5) drives early stopping, the choice of algorithm (auto: \
            mean out-of-fold ROC AUC, one-standard-error rule, simpler model first) and the \
            threshold (on the out-of-fold predictions of every training row); the model is then \
            refit on all training rows. --validation F uses a fixed validation slice instead. \
            Test rows only give the final numbers.
            """)

    @OptionGroup(title: "Data") var input: InputDataOptions
    @OptionGroup(title: "Randomness") var seed: SeedOptions

    @Option(help: "Dataset spec (JSON).") var spec: String
    @Option(help: "Algorithm: \(Algorithms.names.joined(separator: "|"))|auto.") var algorithm: String = "auto"
    @Option(help: "Model artifact to write (.credit).") var out: String
    @Option(help: "Metrics JSON to write.") var metrics: String?
    @Option(help: "Use a fixed validation slice of this fraction instead of cross-validation.") var validation: Double?
    @Option(help: "Folds of the cross-validation (default: 10 under 1,000 training rows, else 5).")
    var cv: Int?
    @Option(name: .customLong("signing-key"), help: "Sign the artifact with this private key (credit keys generate).")
    var signingKey: String?
    @Option(help: "Model report (HTML: ROC, precision-recall, calibration, threshold trade-off, importance) to write.") var report: String?
    @Option(help: "Fraction of rows for test (0 allowed; default 0.2). Not with --test-ids.") var test: Double?
    @Option(name: .customLong("min-precision"), help: "Threshold: highest recall whose precision's Wilson lower bound is >= P on the held-out predictions.")
    var minPrecision: Double?
    @Option(name: .customLong("precision-confidence"), help: "One-sided confidence of that lower bound (default 0.95; 0: the point estimate).")
    var precisionConfidence: Double = 0.95
    @Option(name: .customLong("cost-missed-default"), help: "Threshold by cost: cost of approving a default.")
    var costMissedDefault: Double?
    @Option(name: .customLong("cost-refused-good"), help: "Threshold by cost: cost of refusing a good applicant.")
    var costRefusedGood: Double?
    @Option(help: "Class balancing of the fit rows: none|weights|undersample|oversample.")
    var balance: BalanceOption = .none
    @Option(name: .customLong("default-weight"), help: "Explicit class weight of the default class (goods weigh 1); instead of --balance.")
    var defaultWeight: Double?
    @Option(name: .customLong("exclude-ids"), help: "File of loan ids (one a line) left out of training entirely.")
    var excludeIDs: String?
    @Option(name: .customLong("test-ids"), help: "File of loan ids (one a line) that form the test set (instead of --test).")
    var testIDs: String?
    @Option(name: .customLong("tree-shape"), help: "gbdt trees: loss-guided (default) or oblivious (symmetric; faster batch scoring, docs/gbdt.md).")
    var treeShape: String?
    @Option(name: .customLong("monotone-method"), help: "gbdt monotone constraints of loss-guided trees: basic (default; midpoint bounds) or intermediate (bounds from the ordered leaves' values, docs/models.md). Given, a small book's trees stay loss-guided too.")
    var monotoneMethod: String?

    enum BalanceOption: String, ExpressibleByArgument, CaseIterable {
        case none, weights, undersample, oversample
        var balancing: Balancing {
            switch self {
            case .none: return .none
            case .weights: return .balancedWeights
            case .undersample: return .undersample
            case .oversample: return .oversample
            }
        }
    }

    func validate() throws {
        guard algorithm == "auto" || Algorithms.named(algorithm) != nil else {
            throw ValidationError("unknown --algorithm \(algorithm); available: \(Algorithms.names.joined(separator: ", ")), auto")
        }
        if let treeShape, GBDTTreeShape(rawValue: treeShape) == nil {
            throw ValidationError("--tree-shape must be \(GBDTTreeShape.allCases.map(\.rawValue).joined(separator: " or ")), got \(treeShape)")
        }
        if let monotoneMethod, GBDTMonotoneMethod(rawValue: monotoneMethod) == nil {
            throw ValidationError("--monotone-method must be \(GBDTMonotoneMethod.allCases.map(\.rawValue).joined(separator: " or ")), got \(monotoneMethod)")
        }
        if let validation {
            guard validation > 0, validation < 1 else { throw ValidationError("--validation must be in (0, 1), got \(validation)") }
            guard cv == nil else { throw ValidationError("--cv and --validation both choose the held-out rows; give one of them") }
        }
        if let cv, cv < 2 { throw ValidationError("--cv must be >= 2, got \(cv)") }
        guard precisionConfidence >= 0, precisionConfidence < 1 else {
            throw ValidationError("--precision-confidence must be in [0, 1), got \(precisionConfidence)")
        }
        if test != nil && testIDs != nil {
            throw ValidationError("--test and --test-ids both choose the test rows; give one of them")
        }
        guard testFraction >= 0, (validation ?? 0) + testFraction < 1 else { throw ValidationError("--test must be >= 0 and --validation + --test < 1") }
        if let p = minPrecision {
            guard p > 0, p <= 1 else { throw ValidationError("--min-precision must be in (0, 1], got \(p)") }
            guard costMissedDefault == nil, costRefusedGood == nil else {
                throw ValidationError("use either --min-precision or the two --cost-* options, not both")
            }
        }
        if let w = defaultWeight {
            guard w > 0, w.isFinite else { throw ValidationError("--default-weight must be > 0, got \(w)") }
            guard balance == .none else { throw ValidationError("use either --default-weight or --balance, not both") }
        }
        if (costMissedDefault == nil) != (costRefusedGood == nil) {
            throw ValidationError("--cost-missed-default and --cost-refused-good go together")
        }
        if let a = costMissedDefault, let b = costRefusedGood, !(a >= 0 && b >= 0 && a + b > 0) {
            throw ValidationError("costs must be >= 0 and not both 0")
        }
    }

    var testFraction: Double { test ?? 0.2 }

    func run() throws {
        let console = ConsoleProgress()
        let spec = try DatasetSpec.load(from: self.spec)
        var options = TrainingOptions()
        options.algorithm = algorithm
        options.gbdtTreeShape = treeShape.flatMap(GBDTTreeShape.init(rawValue:))
        options.gbdtMonotoneMethod = monotoneMethod.flatMap(GBDTMonotoneMethod.init(rawValue:))
        options.seed = seed.seed
        options.validationFraction = validation
        options.folds = cv
        options.precisionConfidence = precisionConfidence
        options.testFraction = testFraction
        options.balance = balance.balancing
        if let w = defaultWeight { options.balance = .weights(positive: Float(w), negative: 1) }
        if let p = minPrecision { options.threshold = .minPrecision(p) }
        if let a = costMissedDefault, let b = costRefusedGood { options.threshold = .cost(missedDefault: a, refusedGood: b) }
        if let f = excludeIDs { options.excludeIDs = try readIDList(f) }
        if let f = testIDs { options.testIDs = try readIDList(f) }

        let signer = try signingKey.map { try SigningKey(path: $0) }  // a bad key fails before training
        let raw = try input.request(defaultQuery: spec.query, kinds: spec.forcedKinds).read()
        // Which dense-kernel copy trains (MLP models differ in the last bits between copies);
        // once, when training starts (not before an error about the input).
        console.log("kernels: \(Kernels.summary)")
        let outcome = try Trainer.train(raw: raw, spec: spec, options: options,
                                        log: { console.log($0) }, progress: { console.update($0, $1) })
        console.finish()
        let file = try signer.map { try ArtifactSignature.sign(outcome.fileData, with: $0) } ?? outcome.fileData
        try file.write(to: URL(fileURLWithPath: out), options: .atomic)
        if let signer { print("signed with key \(signer.keyID)") }
        let id = outcome.modelID

        let cv = outcome.artifact.training.crossValidation
        let held = cv == nil ? "validation" : "out-of-fold"
        print("algorithm    \(cv == nil ? "validation ROC AUC  " : "CV ROC AUC (mean±sd)")  \(held) log loss   fit seconds")
        for e in outcome.leaderboard.sorted(by: { ($0.validationAUC.isNaN ? -1 : $0.validationAUC) > ($1.validationAUC.isNaN ? -1 : $1.validationAUC) }) {
            let mark = e.algorithm == outcome.artifact.model.algorithm ? " *" : ""
            if let why = e.excluded { print("\(e.algorithm.padding(toLength: 12, withPad: " ", startingAt: 0)) left out: \(why)"); continue }
            let auc = format(e.validationAUC) + (e.cvROCAUCSD.map { "±" + format($0) } ?? "")
            print("\(e.algorithm.padding(toLength: 12, withPad: " ", startingAt: 0)) \(auc.padding(toLength: 20, withPad: " ", startingAt: 0)) \(format(e.validationLogLoss).padding(toLength: 21, withPad: " ", startingAt: 0)) \(format(e.fitSeconds, 2))\(mark)")
        }
        let t = outcome.artifact.threshold
        let bound = t.precisionLowerBound.map { ", lower bound \(format($0, 3)) at \(format(t.confidence ?? 0, 2))" } ?? ""
        print("threshold \(format(t.threshold, 6)) (\(t.mode)\(t.satisfied ? "" : ", rule NOT met")): \(held) precision \(format(t.precision, 3))\(bound) recall \(format(t.recall, 3))")
        for (name, m) in [(held, outcome.validation), ("test", outcome.test)] {
            guard let m else { continue }
            print("\(name): rows \(m.rows) ROC AUC \(format(m.rocAUC)) PR AUC \(format(m.prAUC)) KS \(format(m.ks)) Brier \(format(m.brier)) precision \(format(m.precision, 3)) recall \(format(m.recall, 3))")
        }
        print("model \(id) written to \(out)")
        if let report, let doc = ModelReportDocument(artifact: outcome.artifact, modelID: id) {
            try writeReport(doc, html: report, json: nil)
            print("report written to \(report)")
        }
        if let metrics {
            try writeJSON(TrainMetricsFile(outcome: outcome, modelID: id), to: metrics)
        }
    }
}

/// The metrics file of `credit train`.
struct TrainMetricsFile: Encodable {
    var modelID: String
    var algorithm: String
    var threshold: ThresholdChoice
    var leaderboard: [LeaderboardEntry]
    var training: EvaluationMetrics
    var validation: EvaluationMetrics
    var test: EvaluationMetrics?
    var dataFingerprint: String
    var crossValidation: CrossValidationInfo?

    init(outcome: TrainingOutcome, modelID: String) {
        self.modelID = modelID
        algorithm = outcome.artifact.model.algorithm
        threshold = outcome.artifact.threshold
        leaderboard = outcome.leaderboard
        training = outcome.artifact.metrics.training
        validation = outcome.validation
        test = outcome.test
        dataFingerprint = outcome.artifact.training.dataFingerprint
        crossValidation = outcome.artifact.training.crossValidation
    }

    enum CodingKeys: String, CodingKey {
        case modelID = "model_id", algorithm, threshold, leaderboard
        case training, validation, test, dataFingerprint = "data_fingerprint"
        case crossValidation = "cross_validation", outOfFold = "out_of_fold"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelID, forKey: .modelID)
        try c.encode(algorithm, forKey: .algorithm)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(leaderboard, forKey: .leaderboard)
        try c.encode(training, forKey: .training)
        try c.encode(validation, forKey: .validation)
        if let test { try c.encode(test, forKey: .test) } else { try c.encodeNil(forKey: .test) }
        try c.encode(dataFingerprint, forKey: .dataFingerprint)
        // Cross-validation: its fold scores, and the out-of-fold metrics (also `validation`:
        // the held-out predictions the threshold was chosen on).
        if let crossValidation {
            try c.encode(crossValidation, forKey: .crossValidation)
            try c.encode(validation, forKey: .outOfFold)
        }
    }
}
