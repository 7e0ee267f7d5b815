import ArgumentParser
import CreditCSV
import CreditData
import CreditDomain
import CreditModels
import Foundation

/// `credit score`: batch scoring, in process (`--model`) or through creditd daemons
/// (`--connect`). One output row per input row, in input order: id, probability, decision,
/// up to four reason codes with their contributions (refused applicants; approved ones with
/// --reasons-for-approved), or an error message. Streamed (`ScoreStream`): memory holds a few
/// batches whatever the table's size.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score applicants with a .credit model in-process, or through creditd daemons (--connect).")

    @Option(help: "Model artifact (.credit). Scores in-process; or use --connect.") var model: String?
    @OptionGroup(title: "Scoring through daemons") var daemon: ConnectOptions
    @OptionGroup(title: "Data") var input: InputDataOptions
    @OptionGroup(title: "Row selection") var ids: IDFilterOptions
    @OptionGroup(title: "Streaming") var stream: StreamOptions
    @Flag(name: .customLong("reasons-for-approved"), help: "Give approved applicants reasons too (in-process; by default only refusals are explained).")
    var reasonsForApproved = false
    @Option(help: "Output: csv:PATH, sqlite:PATH[#table], postgres://USER@HOST:PORT/DB#[schema.]table or mysql://USER@HOST:PORT/DB#table (upserted by id).") var out: String

    func validate() throws {
        if (model == nil) == daemon.connect.isEmpty {
            throw ValidationError("give exactly one of --model PATH (in-process) or --connect ADDRESS (creditd daemons)")
        }
    }

    func run() throws {
        guard let model else {
            return try ConnectedScorer(options: daemon, input: input, ids: ids, stream: stream, out: out).runBlocking()
        }
        let scoring = try ScoringModel(path: model)
        let spec = scoring.artifact.spec
        let kinds = scoringKinds(idColumn: spec.id, fields: scoring.inputFields.map { ($0.name, $0.kind) })
        let request = try input.request(defaultQuery: spec.query, kinds: kinds, ids: ids, idColumn: spec.id)
        let writer = try ScoreWriter(out: out, idColumn: spec.id)
        let progress = ScoreProgress()
        let pipeline = ScoreStream(request: request, batchSize: stream.batchSize ?? 10_000, startRow: stream.startRow,
                                   window: 1, writer: writer, progress: progress, out: out)
        let modelID = scoring.modelID, threshold = scoring.threshold
        try pipeline.run { _, batch, done in
            done(Result {
                let results = try scoring.score(batch, reasonsForApproved: reasonsForApproved)
                return ScoredBatch(ids: results.map(\.id), rows: results.map { r in
                    switch r.outcome {
                    case .scored(let s): .scored(probability: s.probability, refuse: s.refuse, reasons: s.reasons)
                    case .error(let e): .error(field: e.field, value: e.value, reason: e.reason)
                    }
                }, modelID: modelID, threshold: threshold)
            })
        }
        progress.summary(writer)
    }
}
