import ArgumentParser
import CreditData
import CreditDomain
import CreditModels
import Foundation

/// `credit evaluate`: metrics of a saved model on labelled rows, at the model's threshold.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a .credit model on labelled data (metrics JSON at the top level).")

    @Option(help: "Model artifact (.credit).") var model: String
    @OptionGroup(title: "Data") var input: InputDataOptions
    @OptionGroup(title: "Row selection") var ids: IDFilterOptions
    @Option(help: "Metrics JSON to write.") var metrics: String?

    func run() throws {
        let scoring = try ScoringModel(path: model)
        let spec = scoring.artifact.spec
        let table = try input.request(defaultQuery: spec.query, kinds: scoring.schema.forcedKinds,
                                      ids: ids, idColumn: spec.id).read()
        let cleaned = try scoring.cleaner.clean(table, purpose: .training)
        guard let target = cleaned.table.column(named: spec.target.column) else {
            throw CommandFailure(description: "the data has no target column \(spec.target.column)")
        }
        let labels: [Bool]
        switch target.values {
        case .numeric(let v): labels = v.map { $0 == 1 }
        case .categorical(let v): labels = v.map { $0 == spec.target.positive }
        }
        let probs = try scoring.probabilities(cleaned: cleaned.table)
        let m = Metrics.evaluate(probabilities: probs, labels: labels, threshold: scoring.threshold)
        FileHandle.standardError.write(Data("\(table.rowCount) rows read, \(cleaned.table.rowCount) labelled rows evaluated\n".utf8))
        print("model \(scoring.modelID) (\(scoring.algorithm)), threshold \(format(scoring.threshold, 6)) (\(scoring.artifact.threshold.mode))")
        print("rows \(m.rows) positives \(m.positives) ROC AUC \(format(m.rocAUC)) PR AUC \(format(m.prAUC)) KS \(format(m.ks)) Brier \(format(m.brier)) log loss \(format(m.logLoss))")
        print("at threshold: precision \(format(m.precision, 3)) recall \(format(m.recall, 3)) F1 \(format(m.f1, 3)) tp \(m.confusion.tp) fp \(m.confusion.fp) tn \(m.confusion.tn) fn \(m.confusion.fn)")
        if let metrics {
            try writeJSON(EvaluateMetricsFile(metrics: m, modelID: scoring.modelID, algorithm: scoring.algorithm,
                                              thresholdMode: scoring.artifact.threshold.mode), to: metrics)
        }
    }
}

/// The metrics keys at the top level, plus model_id, algorithm and threshold_mode.
struct EvaluateMetricsFile: Encodable {
    var metrics: EvaluationMetrics
    var modelID: String
    var algorithm: String
    var thresholdMode: String

    enum Extra: String, CodingKey { case modelID = "model_id", algorithm, thresholdMode = "threshold_mode" }

    func encode(to encoder: Encoder) throws {
        try metrics.encode(to: encoder)
        var c = encoder.container(keyedBy: Extra.self)
        try c.encode(modelID, forKey: .modelID)
        try c.encode(algorithm, forKey: .algorithm)
        try c.encode(thresholdMode, forKey: .thresholdMode)
    }
}
