import CreditDomain
import Crypto
import Foundation

/// What `Trainer.train` needs beyond the data and the spec.
public struct TrainingOptions: Sendable {
    /// An algorithm name from `Algorithms.names`, or "auto" (all that honour the spec's
    /// monotone constraints; best mean out-of-fold ROC AUC under the one-standard-error rule).
    public var algorithm: String = "auto"
    public var seed: UInt64 = 42
    /// A fixed validation slice (early stopping, choice, threshold). Nil: k-fold cross-validation.
    public var validationFraction: Double? = nil
    /// Folds of the cross-validation; nil: `defaultFolds(rows:)` of the training rows.
    public var folds: Int? = nil
    /// Fraction of labelled rows held out for final numbers; 0 allowed. Ignored when `testIDs` is set.
    public var testFraction: Double = 0.2
    public var threshold: ThresholdRule = .fixed(0.5)
    /// min precision: the one-sided confidence of the Wilson lower bound that must reach the
    /// asked precision (0: the point estimate, no margin).
    public var precisionConfidence: Double = 0.95
    public var balance: Balancing = .none
    /// Rows whose id is listed are removed before anything else.
    public var excludeIDs: Set<String> = []
    /// When set, exactly the rows with these ids form the test set (anchor protocol).
    public var testIDs: Set<String>? = nil
    /// When set, the gbdt learner grows trees of this shape (`GBDTParameters.treeShape`).
    public var gbdtTreeShape: GBDTTreeShape? = nil
    /// When set, the gbdt learner bounds monotone leaves by this method (`GBDTParameters.monotoneMethod`).
    public var gbdtMonotoneMethod: GBDTMonotoneMethod? = nil

    public init() {}
}

/// One row of the leaderboard.
public struct LeaderboardEntry: Codable, Sendable {
    public var algorithm: String
    /// Validation slice: its ROC AUC. Cross-validation: the mean of the folds' ROC AUC.
    public var validationAUC: Double
    public var validationLogLoss: Double
    /// The learner's fits plus scoring of the held-out rows (all folds with cross-validation).
    public var seconds: Double
    /// The learner's fits alone (all folds with cross-validation), wall clock.
    public var fitSeconds: Double
    /// Cross-validation: the standard deviation of the folds' ROC AUC, the ROC AUC of the
    /// pooled out-of-fold predictions, and why an algorithm was left out of `auto`.
    public var cvROCAUCSD: Double?
    public var outOfFoldROCAUC: Double?
    public var excluded: String?

    enum CodingKeys: String, CodingKey {
        case algorithm, validationAUC = "validation_roc_auc", validationLogLoss = "validation_log_loss", seconds
        case fitSeconds = "fit_seconds", cvROCAUCSD = "cv_roc_auc_sd", outOfFoldROCAUC = "oof_roc_auc", excluded
    }
}

public struct TrainingError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// The result of a training run.
public struct TrainingOutcome: Sendable {
    public var artifact: ModelArtifact
    public var modelID: String
    /// The artifact's `.credit` file bytes (encoded once; the model id is their body's hash).
    public var fileData: Data
    public var leaderboard: [LeaderboardEntry]
    /// The held-out predictions the threshold was chosen on: the validation slice, or the
    /// out-of-fold predictions of every training row.
    public var validation: EvaluationMetrics
    /// Nil when there are no test rows.
    public var test: EvaluationMetrics?
    public var cleaningReport: CleaningReport
    /// Out-of-fold probabilities of the chosen algorithm, training-row order (nil with a slice).
    public var outOfFold: [Double]?
}

/// The training pipeline: clean → exclude ids → stratified test split → preprocessing fitted on
/// the training rows → per algorithm, k-fold cross-validation (early stopping on each held-out
/// fold, out-of-fold predictions) or a fixed validation slice → choice (one-standard-error rule)
/// → threshold on the held-out predictions → refit on all training rows → artifact.
public enum Trainer {
    public static func train(raw: DataTable, spec: DatasetSpec, options: TrainingOptions,
                             log: @escaping @Sendable (String) -> Void = { _ in },
                             progress: @escaping @Sendable (String, TrainingProgress) -> Void = { _, _ in }) throws -> TrainingOutcome {
        var entries: [AlgorithmEntry]
        if options.algorithm == "auto" {
            entries = Algorithms.all
        } else if let e = Algorithms.named(options.algorithm) {
            entries = [e]
        } else {
            throw TrainingError(description: "unknown algorithm '\(options.algorithm)' (available: \(Algorithms.names.joined(separator: ", ")), auto)")
        }
        if options.gbdtTreeShape != nil || options.gbdtMonotoneMethod != nil {
            let gbdt = Algorithms.gbdt(treeShape: options.gbdtTreeShape, monotoneMethod: options.gbdtMonotoneMethod)
            entries = entries.map { $0.name == GBDTLearner.algorithm ? gbdt : $0 }
        }
        // The spec compiled once (kinds it leaves open are the raw data's): cleaning,
        // preprocessing and the model's raw schema all read this.
        let schema = try Schema(spec: spec, table: raw)
        let cleaned = try Cleaner(schema: schema).clean(raw, purpose: .training)
        let table = cleaned.table
        guard let targetColumn = table.column(named: schema.target.column) else {
            throw TrainingError(description: "the cleaned table has no target column \(schema.target.column)")
        }
        let labelsAll: [Bool]
        switch targetColumn.values {
        case .numeric(let v): labelsAll = v.map { $0 == 1 }
        case .categorical(let v): labelsAll = v.map { $0 == schema.target.positive }
        }
        let idColumn = table.column(named: schema.id)
        let ids: [String] = (0..<table.rowCount).map { idColumn?.text(row: $0) ?? String($0) }
        let usable = (0..<table.rowCount).filter { !options.excludeIDs.contains(ids[$0]) }
        log("\(raw.rowCount) rows read, \(table.rowCount) after cleaning, \(usable.count) after exclusions")
        try checkTarget(raw.column(named: schema.target.column) ?? targetColumn, schema: schema, labels: usable.map { labelsAll[$0] })

        // Test rows, then the training rows (fit + validation slice, or all of them for CV).
        let split: DataSplit
        let validationFraction = options.validationFraction ?? 0
        if let testIDs = options.testIDs {
            try checkTestIDs(testIDs, present: Set(usable.map { ids[$0] }), log: log)
            let testRows = usable.filter { testIDs.contains(ids[$0]) }
            let rest = usable.filter { !testIDs.contains(ids[$0]) }
            let s = try stratifiedSplit(labels: rest.map { labelsAll[$0] }, validation: validationFraction, test: 0, seed: options.seed)
            split = DataSplit(fit: s.fit.map { rest[$0] }, validation: s.validation.map { rest[$0] }, test: testRows)
        } else {
            let s = try stratifiedSplit(labels: usable.map { labelsAll[$0] }, validation: validationFraction,
                                        test: options.testFraction, seed: options.seed)
            split = DataSplit(fit: s.fit.map { usable[$0] }, validation: s.validation.map { usable[$0] }, test: s.test.map { usable[$0] })
        }
        let crossValidating = options.validationFraction == nil
        guard !split.fit.isEmpty, crossValidating || !split.validation.isEmpty else {
            throw TrainingError(description: "not enough rows: \(split.fit.count) fit and \(split.validation.count) validation rows")
        }
        let folds = crossValidating ? (options.folds ?? defaultFolds(rows: split.fit.count)) : 0
        if crossValidating {
            log("split (seed \(options.seed)): \(split.fit.count) training rows, \(folds)-fold cross-validation, \(split.test.count) test")
        } else {
            log("split (seed \(options.seed)): \(split.fit.count) fit, \(split.validation.count) validation, \(split.test.count) test")
        }

        // Preprocessing is fitted on the training rows (with CV, on all of them: medians, scales
        // and category lists, never the labels, so the folds share it).
        let preprocessor = try Preprocessor.fit(table: table, schema: schema, rows: split.fit)
        var matrixCache: [InputEncoding: (fit: FeatureMatrix, validation: FeatureMatrix, test: FeatureMatrix)] = [:]
        func matrices(_ e: InputEncoding) throws -> (fit: FeatureMatrix, validation: FeatureMatrix, test: FeatureMatrix) {
            if let m = matrixCache[e] { return m }
            let m = (try preprocessor.transform(table, encoding: e, rows: split.fit),
                     try preprocessor.transform(table, encoding: e, rows: split.validation),
                     try preprocessor.transform(table, encoding: e, rows: split.test))
            matrixCache[e] = m
            return m
        }
        let labels = (fit: split.fit.map { labelsAll[$0] }, validation: split.validation.map { labelsAll[$0] },
                      test: split.test.map { labelsAll[$0] })
        func labeled(_ x: FeatureMatrix, _ l: [Bool]) -> LabeledMatrix {
            var m = LabeledMatrix(x: x, y: l.map { $0 ? 1 : 0 })
            m.monotone = monotoneSigns(columns: x.columns, schema: schema)
            return m
        }
        let constrained = schema.features.contains { $0.monotone != nil }

        var leaderboard: [LeaderboardEntry] = []
        var candidates: [(entry: AlgorithmEntry, cv: CrossValidationResult, model: TrainedModel?)] = []
        // Settings that depend on the book's size are decided by its training rows, once: the
        // fold models and the refit are then the same learner.
        for entry in entries.map({ $0.forBook(rows: split.fit.count) }) {
            if constrained && !entry.enforcesMonotone {
                let why = "does not enforce the spec's monotone constraints"
                if options.algorithm == "auto" {
                    log("auto: \(entry.name) left out: it \(why)")
                    leaderboard.append(LeaderboardEntry(algorithm: entry.name, validationAUC: .nan, validationLogLoss: .nan,
                                                        seconds: 0, fitSeconds: 0, excluded: why))
                    continue
                }
                log("warning: \(entry.name) \(why) (docs/models.md)")
            }
            let m = try matrices(entry.encoding)
            let start = Date()
            let name = entry.name
            if crossValidating {
                let foldOf = try stratifiedFolds(labels: labels.fit, k: folds, seed: options.seed)
                var cv = CrossValidationResult(algorithm: name, outOfFold: [Double](repeating: .nan, count: split.fit.count),
                                               foldAUC: [], foldRounds: [], fitSeconds: 0)
                let all = labeled(m.fit, labels.fit)
                for k in 0..<folds {
                    let inFold = foldOf.indices.filter { foldOf[$0] != k }, held = foldOf.indices.filter { foldOf[$0] == k }
                    let fit = options.balance.apply(to: all.selecting(rows: inFold), seed: options.seed &+ UInt64(k))
                    let val = all.selecting(rows: held)
                    let t0 = Date()
                    let (model, rounds) = try entry.fitReportingRounds(train: fit, validation: val, seed: options.seed) {
                        progress("\(name) fold \(k + 1)/\(folds)", $0)
                    }
                    cv.fitSeconds += Date().timeIntervalSince(t0)
                    let probs = predict(model.model, val.x)
                    for (i, r) in held.enumerated() { cv.outOfFold[r] = probs[i] }
                    cv.foldAUC.append(Metrics.rocAUC(scores: probs, labels: held.map { labels.fit[$0] }))
                    cv.foldRounds.append(rounds)
                }
                leaderboard.append(LeaderboardEntry(
                    algorithm: name, validationAUC: cv.meanAUC,
                    validationLogLoss: Metrics.logLoss(probabilities: cv.outOfFold, labels: labels.fit),
                    seconds: Date().timeIntervalSince(start), fitSeconds: cv.fitSeconds, cvROCAUCSD: cv.sdAUC,
                    outOfFoldROCAUC: Metrics.rocAUC(scores: cv.outOfFold, labels: labels.fit)))
                log("\(name): \(folds)-fold ROC AUC \(String(format: "%.4f", cv.meanAUC)) ± \(String(format: "%.4f", cv.sdAUC))")
                candidates.append((entry, cv, nil))
            } else {
                let fit = options.balance.apply(to: labeled(m.fit, labels.fit), seed: options.seed)
                let val = labeled(m.validation, labels.validation)
                let model = try entry.fit(train: fit, validation: val, seed: options.seed) { progress(name, $0) }
                let fitSeconds = Date().timeIntervalSince(start)
                let probs = predict(model.model, m.validation)
                let auc = Metrics.rocAUC(scores: probs, labels: labels.validation)
                leaderboard.append(LeaderboardEntry(algorithm: name, validationAUC: auc,
                                                    validationLogLoss: Metrics.logLoss(probabilities: probs, labels: labels.validation),
                                                    seconds: Date().timeIntervalSince(start), fitSeconds: fitSeconds))
                candidates.append((entry, CrossValidationResult(algorithm: name, outOfFold: probs, foldAUC: [auc],
                                                                foldRounds: [], fitSeconds: fitSeconds), model))
            }
        }
        guard !candidates.isEmpty else {
            throw TrainingError(description: "no algorithm honours the spec's monotone constraints")
        }
        // Choice: one standard error of the fold AUCs (a slice has one "fold": the best AUC).
        let pick = oneStandardErrorChoice(candidates.map(\.cv)) { name in Algorithms.named(name)?.complexity ?? Int.max }
        let chosen = candidates[pick]
        let heldLabels = crossValidating ? labels.fit : labels.validation
        var choice = chooseThreshold(probabilities: chosen.cv.outOfFold, labels: heldLabels, rule: options.threshold,
                                     confidence: options.precisionConfidence)
        choice.chosenOn = crossValidating ? "out_of_fold" : "validation"

        // The final model: with CV, refit on every training row with the folds' rounds.
        let m = try matrices(chosen.entry.encoding)
        let finalModel: TrainedModel
        var cvInfo: CrossValidationInfo? = nil
        if crossValidating {
            let rounds = chosen.cv.refitRounds
            let refit = rounds.map { chosen.entry.fixingRounds($0) } ?? chosen.entry
            let all = options.balance.apply(to: labeled(m.fit, labels.fit), seed: options.seed)
            finalModel = try refit.fit(train: all, validation: nil, seed: options.seed) { progress("\(chosen.entry.name) refit", $0) }
            cvInfo = CrossValidationInfo(folds: folds, rocAUCMean: chosen.cv.meanAUC, rocAUCSD: chosen.cv.sdAUC,
                                         foldROCAUC: chosen.cv.foldAUC, rounds: rounds)
            log("\(chosen.entry.name): refit on \(split.fit.count) rows" + (rounds.map { " with \($0) rounds" } ?? ""))
        } else {
            finalModel = chosen.model!
        }
        let trainingMetrics = Metrics.evaluate(probabilities: predict(finalModel.model, m.fit), labels: labels.fit,
                                               threshold: choice.threshold)
        let validationMetrics = Metrics.evaluate(probabilities: chosen.cv.outOfFold, labels: heldLabels, threshold: choice.threshold)
        let testMetrics = split.test.isEmpty ? nil
            : Metrics.evaluate(probabilities: predict(finalModel.model, m.test), labels: labels.test, threshold: choice.threshold)

        let rawSchema = [RawField(role: "id", name: schema.id, kind: idColumn?.kind ?? .categorical, categories: nil, label: nil)]
            + zip(schema.features, preprocessor.features).map { RawField(feature: $0, stats: $1) }
        let info = TrainingInfo(
            dataFingerprint: fingerprint(table: table, schema: schema, ids: ids, labels: labelsAll, split: split),
            fitRows: split.fit.count, validationRows: split.validation.count, testRows: split.test.count,
            positives: labels.fit.filter { $0 }.count, seed: options.seed, balance: options.balance.name,
            validationFraction: validationFraction,
            testFraction: options.testIDs == nil ? options.testFraction : Double(split.test.count) / Double(max(1, usable.count)),
            crossValidation: cvInfo)
        // The report on the held-out predictions the threshold was chosen on (out-of-fold or
        // the validation slice); importance from the final model on those rows.
        let report = ModelReport.compute(
            dataset: choice.chosenOn ?? "validation", probabilities: chosen.cv.outOfFold, labels: heldLabels,
            threshold: choice.threshold, rule: options.threshold,
            importance: ModelReport.importance(model: finalModel.model, x: crossValidating ? m.fit : m.validation,
                                               features: preprocessor.features.map(\.name)),
            distributions: ModelReport.distributions(table: table, stats: preprocessor.features, rows: split.fit))
        let artifact = ModelArtifact(formatVersion: ModelArtifact.currentFormatVersion, spec: spec, schema: rawSchema,
                                     preprocessor: preprocessor, encoding: chosen.entry.encoding, model: finalModel,
                                     threshold: choice,
                                     metrics: ArtifactMetrics(training: trainingMetrics, validation: validationMetrics),
                                     training: info, report: report)
        let file = try artifact.fileData()
        return TrainingOutcome(artifact: artifact, modelID: file.modelID, fileData: file.data, leaderboard: leaderboard,
                               validation: validationMetrics, test: testMetrics, cleaningReport: cleaned.report,
                               outOfFold: crossValidating ? chosen.cv.outOfFold : nil)
    }

    /// Per model input column, the sign its learner must keep (+1 risk rises with it, −1 falls,
    /// 0 free): a monotone feature's value column (numeric), or its rank columns (ordinal);
    /// missing indicators are free. Nil when the spec declares no constraint.
    static func monotoneSigns(columns: [FeatureColumn], schema: Schema) -> [Int8]? {
        guard schema.features.contains(where: { $0.monotone != nil }) else { return nil }
        return columns.map { c in
            guard let m = schema.feature(named: c.source)?.monotone else { return 0 }
            switch c.kind {
            case .numeric, .atLeast: return m.sign
            case .categorical, .oneHot, .missingIndicator: return 0
            }
        }
    }

    static func checkTestIDs(_ testIDs: Set<String>, present: Set<String>, log: (String) -> Void) throws {
        let missing = testIDs.subtracting(present)
        if missing.count == testIDs.count {
            throw TrainingError(description: "none of the \(testIDs.count) test ids is an id of the cleaned, "
                + "non-excluded rows; for example \(missing.sorted().prefix(3).joined(separator: ", "))")
        }
        if !missing.isEmpty {
            log("warning: \(missing.count) of \(testIDs.count) test ids are not in the data (for example "
                + "\(missing.sorted().prefix(3).joined(separator: ", "))); the test set has the other \(testIDs.count - missing.count)")
        }
    }

    /// A target whose positive value never occurs (or is the only one) trains a useless model:
    /// stop, naming the column, the positive value and the values seen.
    static func checkTarget(_ column: Column, schema: Schema, labels: [Bool]) throws {
        let positives = labels.filter { $0 }.count
        guard positives == 0 || positives == labels.count else { return }
        var seen: [String: Int] = [:]
        for r in 0..<column.count where !column.isMissing(row: r) { seen[column.text(row: r), default: 0] += 1 }
        let values = seen.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(10).map { "'\($0.key)' (\($0.value))" }.joined(separator: ", ")
        let what = positives == 0 ? "never occurs" : "is the only value"
        throw TrainingError(description: "target column '\(schema.target.column)': the positive value "
            + "'\(schema.target.positive)' \(what) in the \(labels.count) labelled rows; values seen in the data: "
            + (values.isEmpty ? "none (all missing)" : values))
    }

    /// Probabilities of default for every row of `x`.
    public static func predict(_ model: any LogitModel, _ x: FeatureMatrix) -> [Double] {
        guard x.rows > 0 else { return [] }
        var logits = [Float](repeating: 0, count: x.rows)
        let scratch = model.makeScratch(maxRows: x.rows)
        x.values.withUnsafeBufferPointer { input in
            logits.withUnsafeMutableBufferPointer { out in model.logits(input, out, rows: 0..<x.rows, scratch: scratch) }
        }
        return logits.map(ScoringModel.probability)
    }

    /// SHA-256 over the fit and validation rows in order: role, id, label and the cleaned
    /// feature values as text, fields separated by 0x1F, rows by 0x1E.
    static func fingerprint(table: DataTable, schema: Schema, ids: [String], labels: [Bool], split: DataSplit) -> String {
        var hasher = SHA256()
        let cols = schema.features.compactMap { table.column(named: $0.name) }
        for (role, rows) in [("fit", split.fit), ("validation", split.validation)] {
            for r in rows {
                var line = "\(role)\u{1F}\(ids[r])\u{1F}\(labels[r] ? 1 : 0)"
                for c in cols {
                    line += "\u{1F}"
                    switch c.values {
                    case .numeric(let v): line += v[r].map { "\($0)" } ?? ""
                    case .categorical(let v): line += v[r] ?? "\u{0}"
                    }
                }
                line += "\u{1E}"
                hasher.update(data: Data(line.utf8))
            }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
