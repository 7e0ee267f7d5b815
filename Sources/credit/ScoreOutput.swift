import CreditDomain

/// One output row of `credit score` (in-process or through a daemon).
enum ScoreRow: Sendable {
    /// probability of default, refuse at the model's threshold, reason wordings (≤ 4).
    case scored(probability: Double, refuse: Bool, reasons: [String])
    /// Why the row could not be scored (names the field and value).
    case error(String)

    static func error(field: String, value: String, reason: String) -> ScoreRow {
        .error("\(field) = '\(value)': \(reason)")
    }
}

/// The output table of `credit score`: id, probability, decision, reason_1...reason_4, error
/// — one row per input row, input order. Both scoring paths write through this, so their
/// files have the same columns and formatting.
enum ScoreOutput {
    static func table(idColumn: String, ids: [String?], rows: [ScoreRow]) -> DataTable {
        precondition(ids.count == rows.count)
        var probability: [Double?] = [], decision: [String?] = [], message: [String?] = []
        var reasons: [[String?]] = Array(repeating: [], count: 4)
        probability.reserveCapacity(rows.count)
        for r in rows {
            switch r {
            case .scored(let p, let refuse, let texts):
                probability.append(p)
                decision.append(refuse ? "refuse" : "approve")
                for k in 0..<4 { reasons[k].append(k < texts.count ? texts[k] : nil) }
                message.append(nil)
            case .error(let m):
                probability.append(nil)
                decision.append("error")
                for k in 0..<4 { reasons[k].append(nil) }
                message.append(m)
            }
        }
        var output = DataTable(columns: [.categorical(idColumn, ids), .numeric("probability", probability),
                                         .categorical("decision", decision)])
        for k in 0..<4 { output.append(.categorical("reason_\(k + 1)", reasons[k])) }
        output.append(.categorical("error", message))
        return output
    }
}
