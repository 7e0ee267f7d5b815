import CreditCSV
import CreditData
import CreditDomain
import Foundation

/// The database layout of `credit score`'s rows (the file layout, `ScoreOutput.table`, and
/// `ScoreRow` are CreditCSV's, shared with creditd's `POST /v1/score/csv`).
extension ScoreOutput {
    /// The table a database sink receives (`--out postgres://...#schema.table`,
    /// `mysql://...#table`), upserted by `id`: id, probability_default, decision, threshold,
    /// reason_k and reason_k_contribution (k = 1...4), error, model_id, scored_at (ISO 8601 UTC).
    static func databaseTable(ids: [String?], rows: [ScoreRow], threshold: Double?, modelID: String, scoredAt: String) -> DataTable {
        precondition(ids.count == rows.count)
        var probability: [Double?] = [], decision: [String?] = [], message: [String?] = []
        var texts: [[String?]] = Array(repeating: [], count: 4), contributions: [[Double?]] = Array(repeating: [], count: 4)
        for r in rows {
            switch r {
            case .scored(let p, let refuse, let reasons):
                probability.append(p)
                decision.append(refuse ? "refuse" : "approve")
                for k in 0..<4 {
                    texts[k].append(k < reasons.count ? reasons[k].text : nil)
                    contributions[k].append(k < reasons.count ? reasons[k].contribution : nil)
                }
                message.append(nil)
            case .error(let m):
                probability.append(nil)
                decision.append("error")
                for k in 0..<4 { texts[k].append(nil); contributions[k].append(nil) }
                message.append(m)
            }
        }
        var output = DataTable(columns: [.categorical("id", ids), .numeric("probability_default", probability),
                                         .categorical("decision", decision),
                                         .numeric("threshold", [Double?](repeating: threshold, count: rows.count))])
        for k in 0..<4 {
            output.append(.categorical("reason_\(k + 1)", texts[k]))
            output.append(.numeric("reason_\(k + 1)_contribution", contributions[k]))
        }
        output.append(.categorical("error", message))
        output.append(.categorical("model_id", Array(repeating: modelID, count: rows.count)))
        output.append(.categorical("scored_at", Array(repeating: scoredAt, count: rows.count)))
        return output
    }
}

/// One batch of `credit score`'s output, in input order, scored by one model.
struct ScoredBatch: Sendable {
    var ids: [String?]
    var rows: [ScoreRow]
    /// The model that scored the batch (through a daemon: the one its answer names, which
    /// changes after a hot reload).
    var modelID: String
    /// That model's threshold (nil when it could not be learnt: a reload raced the lookup).
    var threshold: Double?
}

/// Writes `credit score`'s output to `--out` batch by batch: a database sink (postgres://,
/// mysql://) gets `ScoreOutput.databaseTable` upserted by id in transactions of `batchRows`
/// rows; a file sink (csv:, sqlite:) gets `ScoreOutput.table`, replacing what it held.
/// Counts what it wrote for the summary line.
final class ScoreWriter {
    let writer: any TableWriter
    let idColumn: String
    let upserting: Bool
    private let stamp = ISO8601DateFormatter().string(from: Date())
    private(set) var rows = 0, errors = 0, refused = 0
    /// Model ids in the order first seen.
    private(set) var models: [String] = []

    init(out: String, idColumn: String, batchRows: Int = 5000) throws {
        let sink = try DataSources.sink(out)
        if let keyed = sink as? UpsertingSink {
            writer = try keyed.makeUpsertWriter(key: "id", batchRows: batchRows)
            upserting = true
        } else {
            writer = try DataSources.writer(out)
            upserting = false
        }
        self.idColumn = idColumn
    }

    /// Rows durably written (flushed or committed) so far.
    var rowsWritten: Int { writer.rowsWritten }

    func append(_ b: ScoredBatch) throws {
        precondition(b.ids.count == b.rows.count)
        if !models.contains(b.modelID) { models.append(b.modelID) }
        for r in b.rows {
            switch r {
            case .error: errors += 1
            case .scored(_, let refuse, _): if refuse { refused += 1 }
            }
        }
        rows += b.rows.count
        if upserting {
            try writer.append(ScoreOutput.databaseTable(ids: b.ids, rows: b.rows, threshold: b.threshold,
                                                        modelID: b.modelID, scoredAt: stamp))
        } else {
            try writer.append(ScoreOutput.table(idColumn: idColumn, ids: b.ids, rows: b.rows, modelID: b.modelID))
        }
    }

    func finish() throws { try writer.finish() }
}
