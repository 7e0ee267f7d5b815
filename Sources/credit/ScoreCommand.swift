import ArgumentParser
import CreditData
import CreditDomain
import CreditModels
import Foundation

/// `credit score`: in-process batch scoring. One output row per input row, in input order:
/// id, probability, decision, up to four reason codes with their contributions (refused
/// applicants; approved ones with --reasons-for-approved), or an error message.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score applicants with a .credit model in-process, or through a creditd daemon (--connect).")

    @Option(help: "Model artifact (.credit). Scores in-process; or use --connect.") var model: String?
    @OptionGroup(title: "Scoring through a daemon") var daemon: ConnectOptions
    @OptionGroup(title: "Data") var input: InputDataOptions
    @OptionGroup(title: "Row selection") var ids: IDFilterOptions
    @Flag(name: .customLong("reasons-for-approved"), help: "Give approved applicants reasons too (in-process; by default only refusals are explained).")
    var reasonsForApproved = false
    @Option(help: "Output: csv:PATH, sqlite:PATH[#table], postgres://USER@HOST:PORT/DB#[schema.]table or mysql://USER@HOST:PORT/DB#table (upserted by id).") var out: String

    func validate() throws {
        if (model == nil) == (daemon.connect == nil) {
            throw ValidationError("give exactly one of --model PATH (in-process) or --connect ADDRESS (a creditd daemon)")
        }
    }

    func run() throws {
        guard let model else {
            return try ConnectedScorer(options: daemon, input: input, ids: ids, out: out).runBlocking()
        }
        let scoring = try ScoringModel(path: model)
        let spec = scoring.artifact.spec
        let table = try input.request(defaultQuery: spec.query, kinds: ColumnKinds(forced: [spec.id: .categorical]),
                                      ids: ids, idColumn: spec.id).read()
        let results = try scoring.score(table, reasonsForApproved: reasonsForApproved)
        var errors = 0, refused = 0
        let rows: [ScoreRow] = results.map { r in
            switch r.outcome {
            case .scored(let s):
                if s.refuse { refused += 1 }
                return .scored(probability: s.probability, refuse: s.refuse, reasons: s.reasons)
            case .error(let e):
                errors += 1
                return .error(field: e.field, value: e.value, reason: e.reason)
            }
        }
        try writeScores(to: out, idColumn: spec.id, ids: results.map(\.id), rows: rows,
                        threshold: scoring.threshold, modelID: scoring.modelID)
        FileHandle.standardError.write(Data("scored \(results.count - errors) of \(results.count) rows (\(refused) refused, \(errors) errors) with model \(scoring.modelID)\n".utf8))
    }
}
