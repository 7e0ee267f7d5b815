import CreditDomain
import Crypto
import Foundation

/// What `Trainer.train` needs beyond the data and the spec.
public struct TrainingOptions: Sendable {
    /// An algorithm name from `Algorithms.names`, or "auto" (all; best validation ROC AUC wins).
    public var algorithm: String = "auto"
    public var seed: UInt64 = 42
    public var validationFraction: Double = 0.2
    /// Fraction of labelled rows held out for final numbers; 0 allowed. Ignored when `testIDs` is set.
    public var testFraction: Double = 0.2
    public var threshold: ThresholdRule = .fixed(0.5)
    public var balance: Balancing = .none
    /// Rows whose id is listed are removed before anything else.
    public var excludeIDs: Set<String> = []
    /// When set, exactly the rows with these ids form the test set (anchor protocol);
    /// validation is then drawn from the remaining rows.
    public var testIDs: Set<String>? = nil

    public init() {}
}

/// One row of the `auto` leaderboard.
public struct LeaderboardEntry: Codable, Sendable {
    public var algorithm: String
    public var validationAUC: Double
    public var validationLogLoss: Double
    /// The learner's fit plus one scoring of the validation rows.
    public var seconds: Double
    /// The learner's fit alone (binning or encoding of the fit rows, training, early stopping
    /// on validation), wall clock: the figure to compare with another library's training.
    public var fitSeconds: Double

    enum CodingKeys: String, CodingKey {
        case algorithm, validationAUC = "validation_roc_auc", validationLogLoss = "validation_log_loss", seconds
        case fitSeconds = "fit_seconds"
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
    public var validation: EvaluationMetrics
    /// Nil when there are no test rows.
    public var test: EvaluationMetrics?
    public var cleaningReport: CleaningReport
}

/// The training pipeline: clean → exclude ids → stratified split → preprocessing fitted on
/// the fit rows → learner(s) (validation for early stopping and model choice) → threshold
/// on validation → metrics on validation and test → artifact.
public enum Trainer {
    public static func train(raw: DataTable, spec: DatasetSpec, options: TrainingOptions,
                             log: @escaping @Sendable (String) -> Void = { _ in },
                             progress: @escaping @Sendable (String, TrainingProgress) -> Void = { _, _ in }) throws -> TrainingOutcome {
        let entries: [AlgorithmEntry]
        if options.algorithm == "auto" {
            entries = Algorithms.all
        } else if let e = Algorithms.named(options.algorithm) {
            entries = [e]
        } else {
            throw TrainingError(description: "unknown algorithm '\(options.algorithm)' (available: \(Algorithms.names.joined(separator: ", ")), auto)")
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
        if let testIDs = options.testIDs {
            let present = Set(usable.map { ids[$0] })
            let missing = testIDs.subtracting(present)
            if missing.count == testIDs.count {
                throw TrainingError(description: "none of the \(testIDs.count) test ids is an id (\(schema.id)) of the cleaned, "
                    + "non-excluded rows; for example \(missing.sorted().prefix(3).joined(separator: ", "))")
            }
            if !missing.isEmpty {
                log("warning: \(missing.count) of \(testIDs.count) test ids are not in the data (for example "
                    + "\(missing.sorted().prefix(3).joined(separator: ", "))); the test set has the other \(testIDs.count - missing.count)")
            }
        }

        // Split (indices into `usable`, then mapped to table rows).
        let split: DataSplit
        if let testIDs = options.testIDs {
            let testRows = usable.filter { testIDs.contains(ids[$0]) }
            let rest = usable.filter { !testIDs.contains(ids[$0]) }
            let s = try stratifiedSplit(labels: rest.map { labelsAll[$0] }, validation: options.validationFraction, test: 0, seed: options.seed)
            split = DataSplit(fit: s.fit.map { rest[$0] }, validation: s.validation.map { rest[$0] }, test: testRows)
        } else {
            let s = try stratifiedSplit(labels: usable.map { labelsAll[$0] }, validation: options.validationFraction,
                                        test: options.testFraction, seed: options.seed)
            split = DataSplit(fit: s.fit.map { usable[$0] }, validation: s.validation.map { usable[$0] }, test: s.test.map { usable[$0] })
        }
        guard !split.fit.isEmpty, !split.validation.isEmpty else {
            throw TrainingError(description: "not enough rows: \(split.fit.count) fit and \(split.validation.count) validation rows")
        }
        log("split (seed \(options.seed)): \(split.fit.count) fit, \(split.validation.count) validation, \(split.test.count) test")

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
        func y(_ rows: [Int]) -> [Float] { rows.map { labelsAll[$0] ? 1 : 0 } }
        let labels = (fit: split.fit.map { labelsAll[$0] }, validation: split.validation.map { labelsAll[$0] },
                      test: split.test.map { labelsAll[$0] })

        var leaderboard: [LeaderboardEntry] = []
        var best: (model: TrainedModel, entry: AlgorithmEntry, validationProbs: [Double], auc: Double)? = nil
        for entry in entries {
            let m = try matrices(entry.encoding)
            let fit = options.balance.apply(to: LabeledMatrix(x: m.fit, y: y(split.fit)), seed: options.seed)
            let val = LabeledMatrix(x: m.validation, y: y(split.validation))
            let start = Date()
            let name = entry.name
            let model = try entry.fit(train: fit, validation: val, seed: options.seed) { progress(name, $0) }
            let fitSeconds = Date().timeIntervalSince(start)
            let probs = predict(model.model, m.validation)
            let auc = Metrics.rocAUC(scores: probs, labels: labels.validation)
            let ll = Metrics.logLoss(probabilities: probs, labels: labels.validation)
            leaderboard.append(LeaderboardEntry(algorithm: entry.name, validationAUC: auc, validationLogLoss: ll,
                                                seconds: Date().timeIntervalSince(start), fitSeconds: fitSeconds))
            if best == nil || auc > best!.auc || (best!.auc.isNaN && !auc.isNaN) {
                best = (model, entry, probs, auc)
            }
        }
        let chosen = best!
        let choice = chooseThreshold(probabilities: chosen.validationProbs, labels: labels.validation, rule: options.threshold)
        let m = try matrices(chosen.entry.encoding)
        let trainingMetrics = Metrics.evaluate(probabilities: predict(chosen.model.model, m.fit), labels: labels.fit,
                                               threshold: choice.threshold)
        let validationMetrics = Metrics.evaluate(probabilities: chosen.validationProbs, labels: labels.validation,
                                                 threshold: choice.threshold)
        let testMetrics = split.test.isEmpty ? nil
            : Metrics.evaluate(probabilities: predict(chosen.model.model, m.test), labels: labels.test, threshold: choice.threshold)

        let rawSchema = [RawField(role: "id", name: schema.id, kind: idColumn?.kind ?? .categorical, categories: nil, label: nil)]
            + zip(schema.features, preprocessor.features).map { RawField(feature: $0, stats: $1) }
        let info = TrainingInfo(
            dataFingerprint: fingerprint(table: table, schema: schema, ids: ids, labels: labelsAll, split: split),
            fitRows: split.fit.count, validationRows: split.validation.count, testRows: split.test.count,
            positives: labels.fit.filter { $0 }.count, seed: options.seed, balance: options.balance.name,
            validationFraction: options.validationFraction,
            testFraction: options.testIDs == nil ? options.testFraction : Double(split.test.count) / Double(max(1, usable.count)))
        let artifact = ModelArtifact(formatVersion: ModelArtifact.currentFormatVersion, spec: spec, schema: rawSchema,
                                     preprocessor: preprocessor, encoding: chosen.entry.encoding, model: chosen.model,
                                     threshold: choice,
                                     metrics: ArtifactMetrics(training: trainingMetrics, validation: validationMetrics),
                                     training: info)
        let file = try artifact.fileData()
        return TrainingOutcome(artifact: artifact, modelID: file.modelID, fileData: file.data, leaderboard: leaderboard,
                               validation: validationMetrics,
                               test: testMetrics, cleaningReport: cleaned.report)
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
