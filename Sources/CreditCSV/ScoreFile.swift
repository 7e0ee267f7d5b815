import CreditDomain
import Foundation

/// One output row of a score file (`credit score`, in-process or through a daemon, and
/// creditd's `POST /v1/score/csv`).
public enum ScoreRow: Sendable {
    /// probability of default, refuse at the model's threshold, reasons (≤ 4).
    case scored(probability: Double, refuse: Bool, reasons: [Reason])
    /// Why the row could not be scored (names the field and value).
    case error(String)

    public static func error(field: String, value: String, reason: String) -> ScoreRow {
        .error("\(field) = '\(value)': \(reason)")
    }
}

/// The score file: id, probability, decision, reason_k and reason_k_contribution (its
/// log-odds contribution, so a reviewer can audit it; k = 1...4), error, model_id (the model
/// that scored the row: through daemons, the one its answer named, which changes with a hot
/// reload) — one row per input row, input order. Every path that writes scores as a file builds this table, so their
/// files have the same columns and formatting.
public enum ScoreOutput {
    public static func table<I: Collection<String?>, R: Collection<ScoreRow>>(idColumn: String, ids: I, rows: R, modelID: String) -> DataTable {
        precondition(ids.count == rows.count)
        var probability: [Double?] = [], decision: [String?] = [], message: [String?] = []
        var reasons: [[String?]] = Array(repeating: [], count: 4), contributions: [[Double?]] = Array(repeating: [], count: 4)
        probability.reserveCapacity(rows.count)
        for r in rows {
            switch r {
            case .scored(let p, let refuse, let texts):
                probability.append(p)
                decision.append(refuse ? "refuse" : "approve")
                for k in 0..<4 {
                    reasons[k].append(k < texts.count ? texts[k].text : nil)
                    contributions[k].append(k < texts.count ? texts[k].contribution : nil)
                }
                message.append(nil)
            case .error(let m):
                probability.append(nil)
                decision.append("error")
                for k in 0..<4 { reasons[k].append(nil); contributions[k].append(nil) }
                message.append(m)
            }
        }
        var output = DataTable(columns: [.categorical(idColumn, Array(ids)), .numeric("probability", probability),
                                         .categorical("decision", decision)])
        for k in 0..<4 {
            output.append(.categorical("reason_\(k + 1)", reasons[k]))
            output.append(.numeric("reason_\(k + 1)_contribution", contributions[k]))
        }
        output.append(.categorical("error", message))
        output.append(.categorical("model_id", Array(repeating: modelID, count: rows.count)))
        return output
    }
}

/// How the columns of an input table map onto a model's fields, and the per-batch
/// conversion to what a scorer takes (numbers, category texts), with the rows that fail
/// before scoring: a missing id, a text that is not a number in a numeric field. Shared by
/// `credit score --connect` (which sends the columns over the wire) and creditd's
/// `POST /v1/score/csv` (which binds them in process), so both read a file one way.
public struct ScoreInputPlan: Sendable {
    public enum Source: Sendable {
        case numeric([Double?])
        case text([String?])
    }
    public let numeric: [(field: String, source: Source)]
    public let categorical: [(field: String, source: Source)]
    /// The id column (named in the error of a row without an id, as in-process scoring does).
    public let idColumn: String

    /// The model's fields found in `table` (a field the table lacks is not sent: missing for everyone).
    public init(fields: [SchemaField], table: DataTable, idColumn: String) {
        self.idColumn = idColumn
        var numeric: [(String, Source)] = [], categorical: [(String, Source)] = []
        for f in fields {
            guard let col = table.column(named: f.name) else { continue }
            let source: Source = switch col.values {
            case .numeric(let v): .numeric(v)
            case .categorical(let v): .text(v)
            }
            if f.kind == .numeric { numeric.append((f.name, source)) } else { categorical.append((f.name, source)) }
        }
        self.numeric = numeric
        self.categorical = categorical
    }

    /// Rows `range` of the table (`ids[r - offset]` is row r's id) as columns: the rows sent
    /// (input row numbers, in order), their ids, one number array per `numeric` field (NaN =
    /// missing), one text array per `categorical` field ("" = missing), and the rows that
    /// failed here with their error rows.
    public func build(rows range: Range<Int>, ids: [String?], offset: Int)
        -> (sent: [Int], ids: [String], numbers: [[Double]], texts: [[String]], local: [(Int, ScoreRow)]) {
        var local: [(Int, ScoreRow)] = []
        var sent: [Int] = []
        sent.reserveCapacity(range.count)
        var numbers = [[Double]](repeating: [], count: numeric.count)
        rows: for r in range {
            guard ids[r - offset] != nil else {
                local.append((r, .error(field: idColumn, value: "", reason: "missing id")))
                continue
            }
            var parsed = [Double](repeating: .nan, count: numeric.count)
            for (k, f) in numeric.enumerated() {
                switch f.source {
                case .numeric(let v): parsed[k] = v[r] ?? .nan
                case .text(let v):
                    guard let t = v[r], !MissingValues.isMissing(t) else { continue }
                    guard let x = Double(t.trimmingCharacters(in: .whitespaces)) else {
                        local.append((r, .error(field: f.field, value: t, reason: "not a number")))
                        continue rows
                    }
                    parsed[k] = x
                }
            }
            for k in 0..<numeric.count { numbers[k].append(parsed[k]) }
            sent.append(r)
        }
        let texts: [[String]] = categorical.map { f in
            sent.map { r in
                switch f.source {
                case .text(let v):
                    guard let t = v[r], !MissingValues.isMissing(t) else { return "" }
                    return t
                case .numeric(let v): return v[r].map(formatNumber) ?? ""
                }
            }
        }
        return (sent, sent.map { ids[$0 - offset]! }, numbers, texts, local)
    }
}

/// The kinds `credit score` reads with, so that no cell can fail the whole read: the id and
/// the categorical fields as text (as training read them), each numeric field as numbers in a
/// batch whose cells are all numbers and as text otherwise (the scorer gives the odd row an
/// error), and any other column decided batch by batch.
public func scoringKinds(idColumn: String, fields: [(name: String, kind: FeatureKind)]) -> ColumnKinds {
    var forced: [String: FeatureKind] = [:]
    var numeric = Set<String>()
    for f in fields {
        if f.kind == .categorical { forced[f.name] = .categorical } else { numeric.insert(f.name) }
    }
    forced[idColumn] = .categorical
    numeric.remove(idColumn)
    return ColumnKinds(forced: forced, numericOrText: numeric, decideEachBatch: true)
}
