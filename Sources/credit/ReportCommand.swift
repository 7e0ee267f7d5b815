import ArgumentParser
import CreditData
import CreditDomain
import CreditModels
import Foundation

/// `credit report --model M --data ...`: the model report (curves, trade-off, confusion
/// matrix, importance) on other labelled rows, as a self-contained HTML page; with no
/// `--data`, the report stored in the artifact at training.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a .credit model's report (ROC, precision-recall, calibration, threshold trade-off, importance) as HTML.")

    @Option(help: "Model artifact (.credit).") var model: String
    @Option(name: .long, help: "Labelled data to report on (default: the validation rows stored in the model).") var data: String?
    @Option(name: .long, help: "SQL query, or @file.sql, for SQL sources (default: the spec's).") var query: String?
    @OptionGroup(title: "Row selection") var ids: IDFilterOptions
    @Option(help: "HTML page to write.") var out: String
    @Option(help: "Also write the report as JSON here.") var json: String?

    func run() throws {
        let scoring = try ScoringModel(path: model)
        var report: ModelReport? = nil
        if let data {
            let spec = scoring.artifact.spec
            let table = try inputRequest(data: data, query: query, defaultQuery: spec.query, kinds: scoring.schema.forcedKinds,
                                         idColumn: spec.id, onlyIDs: ids.onlyIDs, excludeIDs: ids.excludeIDs).read()
            let cleaned = try scoring.cleaner.clean(table, purpose: .training).table
            guard let target = cleaned.column(named: spec.target.column) else {
                throw CommandFailure(description: "the data has no target column \(spec.target.column)")
            }
            let labels: [Bool] = switch target.values {
            case .numeric(let v): v.map { $0 == 1 }
            case .categorical(let v): v.map { $0 == spec.target.positive }
            }
            let x = try scoring.artifact.preprocessor.transform(cleaned, encoding: scoring.artifact.encoding)
            report = ModelReport.compute(
                dataset: DatabaseURL.redact(data), probabilities: try scoring.probabilities(cleaned: cleaned), labels: labels,
                threshold: scoring.threshold, rule: scoring.artifact.threshold.rule,
                importance: ModelReport.importance(model: scoring.artifact.model.model, x: x,
                                                   features: scoring.artifact.preprocessor.features.map(\.name)),
                distributions: scoring.artifact.report?.distributions ?? [])
        }
        guard let doc = ModelReportDocument(artifact: scoring.artifact, modelID: scoring.modelID, report: report) else {
            throw CommandFailure(description: "model \(model) carries no report (trained before reports existed): give --data")
        }
        try writeReport(doc, html: out, json: json)
        print("report of model \(scoring.modelID) on \(doc.report.dataset) (\(doc.report.rows) rows) → \(out)")
    }
}

/// Writes the report page (and its JSON), for `credit report` and `credit train --report`.
func writeReport(_ doc: ModelReportDocument, html: String, json: String?) throws {
    try ReportHTML.render(doc).write(toFile: html, atomically: true, encoding: .utf8)
    if let json { try doc.json().write(to: URL(fileURLWithPath: json), options: .atomic) }
}
