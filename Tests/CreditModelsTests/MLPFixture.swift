import Foundation
import GRDB
import CreditData
@testable import CreditModels

/// Test-only loader and preprocessing for the shared loan book (until the real pipeline lands):
/// restores the four MySQL dumps into an in-memory SQLite through GRDB, joins them, and builds
/// the dense encoding with statistics fitted on the training rows only.
enum MLPFixture {
    struct FixtureError: Error, CustomStringConvertible { var description: String }

    /// `../shared/data/alura-cash` relative to the package root.
    static var dataDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/data/alura-cash")
    }

    struct LoanRow {
        var loanId: String
        var numeric: [Double?]      // numericNames order
        var categorical: [String?]  // categoricalNames order
        var label: Float?
    }

    static let numericNames = ["person_age", "person_income", "person_emp_length", "loan_amnt",
                               "loan_int_rate", "loan_percent_income", "cb_person_cred_hist_length"]
    static let categoricalNames = ["person_home_ownership", "loan_intent", "loan_grade", "cb_person_default_on_file"]

    /// The joined loan book: 34,485 rows (non-empty ids on all sides).
    static func loadLoanBook() throws -> [LoanRow] {
        let dir = dataDirectory
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: """
                CREATE TABLE dados_mutuarios (person_id TEXT, person_age, person_income, person_home_ownership TEXT, person_emp_length);
                CREATE TABLE emprestimos (loan_id TEXT, loan_intent TEXT, loan_grade TEXT, loan_amnt, loan_int_rate, loan_status, loan_percent_income);
                CREATE TABLE historicos_banco (cb_id TEXT, cb_person_default_on_file TEXT, cb_person_cred_hist_length);
                CREATE TABLE ids (person_id TEXT, loan_id TEXT, cb_id TEXT);
                """)
            for file in ["analise_risco_dados_mutuarios.sql", "analise_risco_emprestimos.sql",
                         "analise_risco_historicos_banco.sql", "analise_risco_ids.sql"] {
                let url = dir.appendingPathComponent(file)
                guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                    throw FixtureError(description: "missing shared data file \(url.path)")
                }
                for line in text.split(separator: "\n") where line.hasPrefix("INSERT INTO") {
                    try db.execute(sql: String(line))
                }
            }
        }
        func number(_ v: DatabaseValue) -> Double? {
            switch v.storage {
            case .int64(let i): return Double(i)
            case .double(let d): return d
            case .string(let s): return Double(s.trimmingCharacters(in: .whitespaces))
            default: return nil
            }
        }
        func category(_ v: DatabaseValue) -> String? {
            guard case .string(let s) = v.storage else { return nil }
            let t = s.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            return t.isEmpty ? nil : t
        }
        return try db.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT e.loan_id, d.person_age, d.person_income, d.person_emp_length, e.loan_amnt, e.loan_int_rate,
                       e.loan_percent_income, h.cb_person_cred_hist_length,
                       d.person_home_ownership, e.loan_intent, e.loan_grade, h.cb_person_default_on_file, e.loan_status
                FROM ids i
                JOIN dados_mutuarios d ON d.person_id = i.person_id
                JOIN emprestimos e ON e.loan_id = i.loan_id
                JOIN historicos_banco h ON h.cb_id = i.cb_id
                WHERE i.person_id <> '' AND i.loan_id <> '' AND i.cb_id <> ''
                ORDER BY e.loan_id
                """)
            return rows.map { r in
                let vals: [DatabaseValue] = (0..<13).map { r[$0] as DatabaseValue }
                let label = number(vals[12]).map { Float($0) }
                return LoanRow(loanId: String(describing: r[0] as String? ?? ""),
                               numeric: (1...7).map { number(vals[$0]) },
                               categorical: (8...11).map { category(vals[$0]) },
                               label: label)
            }
        }
    }

    /// Dense encoding fitted on `fitRows`: outliers → missing, median imputation, missing
    /// indicators, log1p of income and amount, standardization, one-hot categories.
    struct Encoder {
        var medians: [Double] = []
        var means: [Double] = []
        var stds: [Double] = []
        var categories: [[String]] = []
        var columns: [FeatureColumn] = []

        static func clean(_ row: LoanRow) -> [Double?] {
            var v = row.numeric
            if let a = v[0], a > 100 { v[0] = nil }
            if let e = v[2], e > 60 { v[2] = nil }
            if let i = v[1] { v[1] = i >= 0 ? Foundation.log1p(i) : nil }
            if let a = v[3] { v[3] = a >= 0 ? Foundation.log1p(a) : nil }
            return v
        }

        init(fitting rows: [LoanRow]) {
            let cleaned = rows.map(Encoder.clean)
            for j in 0..<numericNames.count {
                let present = cleaned.compactMap { $0[j] }.sorted()
                let median = present.isEmpty ? 0 : present[present.count / 2]
                medians.append(median)
                let filled = cleaned.map { $0[j] ?? median }
                let mean = filled.reduce(0, +) / Double(filled.count)
                let variance = filled.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(filled.count)
                means.append(mean)
                stds.append(variance > 0 ? variance.squareRoot() : 1)
                columns.append(FeatureColumn(name: numericNames[j], source: numericNames[j], kind: .numeric))
            }
            for j in 0..<numericNames.count {
                columns.append(FeatureColumn(name: numericNames[j] + "_missing", source: numericNames[j], kind: .missingIndicator))
            }
            for j in 0..<categoricalNames.count {
                let cats = Array(Set(rows.compactMap { $0.categorical[j] })).sorted()
                categories.append(cats)
                for cat in cats {
                    columns.append(FeatureColumn(name: "\(categoricalNames[j])=\(cat)", source: categoricalNames[j], kind: .oneHot(category: cat)))
                }
            }
        }

        func encode(_ rows: [LoanRow]) -> FeatureMatrix {
            var values = [Float]()
            values.reserveCapacity(rows.count * columns.count)
            for row in rows {
                let v = Encoder.clean(row)
                for j in 0..<v.count { values.append(Float(((v[j] ?? medians[j]) - means[j]) / stds[j])) }
                for j in 0..<v.count { values.append(v[j] == nil ? 1 : 0) }
                for j in 0..<categoricalNames.count {
                    for cat in categories[j] { values.append(row.categorical[j] == cat ? 1 : 0) }
                }
            }
            return FeatureMatrix(rows: rows.count, columns: columns, values: values)
        }
    }

    struct AnchorSplit {
        var train: LabeledMatrix
        var validation: LabeledMatrix
        var test: LabeledMatrix
    }

    /// The anchor protocol: test = the listed loan ids; the other labelled rows split 80/20
    /// stratified (seeded) into fit/validation; the encoder is fitted on the fit rows.
    static func anchorSplit(seed: UInt64 = 7) throws -> AnchorSplit {
        let book = try loadLoanBook()
        let listURL = dataDirectory.appendingPathComponent("anchor-split/test_loan_ids.txt")
        guard let list = try? String(contentsOf: listURL, encoding: .utf8) else {
            throw FixtureError(description: "missing \(listURL.path)")
        }
        let testIds = Set(list.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) })
        let labelled = book.filter { $0.label != nil }
        let test = labelled.filter { testIds.contains($0.loanId) }
        let rest = labelled.filter { !testIds.contains($0.loanId) }
        var rng = MLPRandom(seed: seed)
        var fit = [LoanRow](), validation = [LoanRow]()
        for cls in [Float(0), 1] {
            var idx = rest.indices.filter { rest[$0].label == cls }
            rng.shuffle(&idx)
            let nVal = Int((Double(idx.count) * 0.2).rounded())
            validation += idx.prefix(nVal).map { rest[$0] }
            fit += idx.dropFirst(nVal).map { rest[$0] }
        }
        let encoder = Encoder(fitting: fit)
        func matrix(_ rows: [LoanRow]) -> LabeledMatrix {
            LabeledMatrix(x: encoder.encode(rows), y: rows.map { $0.label! })
        }
        return AnchorSplit(train: matrix(fit), validation: matrix(validation), test: matrix(test))
    }
}

/// ROC AUC (Mann–Whitney with average ranks for ties).
func rocAUC(scores: [Float], labels: [Float]) -> Double {
    let order = scores.indices.sorted { scores[$0] < scores[$1] }
    var ranks = [Double](repeating: 0, count: scores.count)
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
        let avg = Double(i + j) / 2 + 1
        for t in i...j { ranks[order[t]] = avg }
        i = j + 1
    }
    let pos = labels.filter { $0 == 1 }.count, neg = labels.count - pos
    guard pos > 0 && neg > 0 else { return .nan }
    var rankSum = 0.0
    for (r, y) in zip(ranks, labels) where y == 1 { rankSum += r }
    return (rankSum - Double(pos) * Double(pos + 1) / 2) / (Double(pos) * Double(neg))
}
