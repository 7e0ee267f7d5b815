import ArgumentParser
import CreditData
import CreditModels
import Foundation

/// `credit score`: in-process batch scoring. One output row per input row, in input order:
/// id, probability, decision, up to four reason codes, or an error message.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score applicants with a .credit model (batch, in-process).")

    @Option(help: "Model artifact (.credit).") var model: String
    @OptionGroup(title: "Data") var input: InputDataOptions
    @OptionGroup(title: "Row selection") var ids: IDFilterOptions
    @Option(help: "Output: csv:PATH or sqlite:PATH[#table].") var out: String

    func run() throws {
        let scoring = try ScoringModel(path: model)
        let spec = scoring.artifact.spec
        var table = try input.read(specQuery: spec.query, kinds: ColumnKinds(forced: [spec.id: .categorical]))
        table = try filterRows(table, idColumn: spec.id, only: try ids.onlyIDs.map(readIDList),
                               exclude: try ids.excludeIDs.map(readIDList))
        let results = try scoring.score(table)
        var errors = 0, refused = 0
        var probability: [Double?] = [], decision: [String?] = [], message: [String?] = []
        var reasons: [[String?]] = Array(repeating: [], count: 4)
        for r in results {
            switch r.outcome {
            case .scored(let s):
                if s.refuse { refused += 1 }
                probability.append(s.probability)
                decision.append(s.refuse ? "refuse" : "approve")
                for k in 0..<4 { reasons[k].append(k < s.reasons.count ? s.reasons[k].text : nil) }
                message.append(nil)
            case .error(let e):
                errors += 1
                probability.append(nil)
                decision.append("error")
                for k in 0..<4 { reasons[k].append(nil) }
                message.append("\(e.field) = '\(e.value)': \(e.reason)")
            }
        }
        var output = DataTable(columns: [.categorical(spec.id, results.map(\.id)), .numeric("probability", probability),
                                         .categorical("decision", decision)])
        for k in 0..<4 { output.append(.categorical("reason_\(k + 1)", reasons[k])) }
        output.append(.categorical("error", message))
        try DataSources.sink(out).write(output)
        FileHandle.standardError.write(Data("scored \(results.count - errors) of \(results.count) rows (\(refused) refused, \(errors) errors) with model \(scoring.modelID)\n".utf8))
    }
}
