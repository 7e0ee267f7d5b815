// TEST FIXTURE ONLY: a minimal loader of the shared alura-cash loan book for the GBDT
// quality tests, written while the real data layer (restore/clean/preprocess) is built in
// parallel. The lead will switch these tests to the real pipeline. It feeds the dump's
// INSERT lines to an in-memory SQLite through GRDB (SQLite accepts the backtick identifiers),
// joins `ids` to the three tables on non-empty ids and encodes the 11 features natively
// (numbers as Float with NaN for NULL/''; categories lowercased + trimmed as codes in
// alphabetical order, so loan_grade a..g keeps its order).
import CreditModels
import Foundation
import GRDB

struct AluraCashFixtureError: Error, CustomStringConvertible {
    var description: String
}

struct AluraCash: Sendable {
    static let numeric = ["person_age", "person_income", "person_emp_length", "loan_amnt", "loan_int_rate",
                          "loan_percent_income", "cb_person_cred_hist_length"]
    static let categorical = ["person_home_ownership", "loan_intent", "loan_grade", "cb_person_default_on_file"]

    /// Labelled rows only (loan_status not NULL).
    var loanIDs: [String]
    var x: FeatureMatrix
    var y: [Float]

    static var dataDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("../shared/data/alura-cash").standardized
    }

    static let shared: Result<AluraCash, AluraCashFixtureError> = {
        do { return .success(try load()) } catch let e as AluraCashFixtureError { return .failure(e) } catch {
            return .failure(AluraCashFixtureError(description: "\(error)"))
        }
    }()

    static func get() throws -> AluraCash { try shared.get() }

    static func load() throws -> AluraCash {
        let dir = dataDirectory
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: """
                CREATE TABLE dados_mutuarios(person_id TEXT, person_age, person_income, person_home_ownership TEXT, person_emp_length);
                CREATE TABLE emprestimos(loan_id TEXT, loan_intent TEXT, loan_grade TEXT, loan_amnt, loan_int_rate, loan_status, loan_percent_income);
                CREATE TABLE historicos_banco(cb_id TEXT, cb_person_default_on_file TEXT, cb_person_cred_hist_length);
                CREATE TABLE ids(person_id TEXT, loan_id TEXT, cb_id TEXT);
                """)
            for table in ["dados_mutuarios", "emprestimos", "historicos_banco", "ids"] {
                let url = dir.appendingPathComponent("analise_risco_\(table).sql")
                guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                    throw AluraCashFixtureError(description: "missing shared data file \(url.path)")
                }
                var inserts = 0
                for line in text.split(separator: "\n", omittingEmptySubsequences: true) where line.hasPrefix("INSERT INTO") {
                    try db.execute(sql: String(line))
                    inserts += 1
                }
                guard inserts > 0 else { throw AluraCashFixtureError(description: "\(url.path): no INSERT statements") }
            }
        }
        let cols = ["e.loan_id", "loan_status"] + numeric + categorical
        let sql = """
            SELECT \(cols.joined(separator: ", ")) FROM ids i
            JOIN dados_mutuarios d ON d.person_id = i.person_id
            JOIN emprestimos e ON e.loan_id = i.loan_id
            JOIN historicos_banco h ON h.cb_id = i.cb_id
            WHERE i.person_id <> '' AND i.loan_id <> '' AND i.cb_id <> ''
            """
        var ids = [String](), labels = [Float]()
        var num = [[Float]](repeating: [], count: numeric.count)
        var cat = [[String?]](repeating: [], count: categorical.count)
        var joined = 0
        try db.read { db in
            let rows = try Row.fetchCursor(db, sql: sql)
            while let row = try rows.next() {
                joined += 1
                let status: DatabaseValue = row[1]
                guard let st = Double.fromDatabaseValue(status) ?? (String.fromDatabaseValue(status).flatMap(Double.init)) else { continue }
                ids.append(row[0])
                labels.append(Float(st))
                for (k, _) in numeric.enumerated() {
                    let v: DatabaseValue = row[2 + k]
                    if let d = Double.fromDatabaseValue(v) { num[k].append(Float(d)) }
                    else if let s = String.fromDatabaseValue(v), let d = Double(s.trimmingCharacters(in: .whitespaces)) { num[k].append(Float(d)) }
                    else { num[k].append(.nan) }
                }
                for (k, _) in categorical.enumerated() {
                    let s: String? = row[2 + numeric.count + k]
                    let t = s?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
                    cat[k].append(t?.isEmpty == false ? t : nil)
                }
            }
        }
        guard joined == 34_485 else { throw AluraCashFixtureError(description: "join gave \(joined) rows, expected 34485") }
        let n = ids.count
        var columns = [FeatureColumn]()
        for name in numeric { columns.append(FeatureColumn(name: name, source: name, kind: .numeric)) }
        var codes = [[Float]]()
        for (k, name) in categorical.enumerated() {
            let vocab = Array(Set(cat[k].compactMap { $0 })).sorted()
            let index = Dictionary(uniqueKeysWithValues: vocab.enumerated().map { ($1, Float($0)) })
            codes.append(cat[k].map { $0.map { index[$0]! } ?? .nan })
            columns.append(FeatureColumn(name: name, source: name, kind: .categorical(cardinality: vocab.count)))
        }
        var values = [Float](repeating: 0, count: n * columns.count)
        for r in 0..<n {
            for k in 0..<numeric.count { values[r * columns.count + k] = num[k][r] }
            for k in 0..<categorical.count { values[r * columns.count + numeric.count + k] = codes[k][r] }
        }
        return AluraCash(loanIDs: ids, x: FeatureMatrix(rows: n, columns: columns, values: values), y: labels)
    }

    /// Anchor-split test loan ids.
    static func anchorTestIDs() throws -> Set<String> {
        let url = dataDirectory.appendingPathComponent("anchor-split/test_loan_ids.txt")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw AluraCashFixtureError(description: "missing \(url.path)")
        }
        return Set(text.split(whereSeparator: \.isNewline).map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }
}

/// Seeded SplitMix64 for test splits.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    mutating func shuffle(_ a: inout [Int]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            a.swapAt(i, j)
        }
    }
}

/// Stratified split of `rows` (indices into `y`): returns (rest, held) with `fraction` of each
/// class held out, shuffled by `seed`.
func stratifiedSplit(_ rows: [Int], y: [Float], fraction: Double, seed: UInt64) -> (rest: [Int], held: [Int]) {
    var rng = TestRandom(seed: seed)
    var rest = [Int](), held = [Int]()
    for cls: Float in [0, 1] {
        var idx = rows.filter { y[$0] == cls }
        rng.shuffle(&idx)
        let k = Int((Double(idx.count) * fraction).rounded())
        held += idx[0..<k]
        rest += idx[k...]
    }
    return (rest.sorted(), held.sorted())
}

// MARK: - Minimal metrics (test-only; the real metrics module is written elsewhere)

/// ROC AUC with tie handling (average ranks).
func rocAUC(_ scores: [Float], _ y: [Float]) -> Double {
    let order = scores.indices.sorted { scores[$0] < scores[$1] }
    var rankSumPos = 0.0
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
        let avgRank = Double(i + j) / 2 + 1
        for k in i...j where y[order[k]] == 1 { rankSumPos += avgRank }
        i = j + 1
    }
    let pos = Double(y.filter { $0 == 1 }.count), neg = Double(y.count) - pos
    return (rankSumPos - pos * (pos + 1) / 2) / (pos * neg)
}

/// Threshold with the highest recall whose precision (predict positive when score >= t) is
/// at least `minPrecision`; nil if none.
func thresholdAtPrecision(_ scores: [Float], _ y: [Float], minPrecision: Double) -> Float? {
    let order = scores.indices.sorted { scores[$0] > scores[$1] }
    let pos = Double(y.filter { $0 == 1 }.count)
    var tp = 0.0, fp = 0.0
    var best: (recall: Double, t: Float)? = nil
    var i = 0
    while i < order.count {
        let t = scores[order[i]]
        while i < order.count && scores[order[i]] == t {
            if y[order[i]] == 1 { tp += 1 } else { fp += 1 }
            i += 1
        }
        if tp / (tp + fp) >= minPrecision, best == nil || tp / pos > best!.recall { best = (tp / pos, t) }
    }
    return best?.t
}

func precisionRecall(_ scores: [Float], _ y: [Float], threshold: Float) -> (precision: Double, recall: Double) {
    var tp = 0.0, fp = 0.0, fn = 0.0
    for i in scores.indices {
        if scores[i] >= threshold { if y[i] == 1 { tp += 1 } else { fp += 1 } } else if y[i] == 1 { fn += 1 }
    }
    return (tp / max(tp + fp, 1), tp / max(tp + fn, 1))
}

extension LogitModel {
    /// Scores all rows of `x` with the batched evaluator.
    func scoreAll(_ x: FeatureMatrix) -> [Float] {
        var out = [Float](repeating: 0, count: x.rows)
        let scratch = makeScratch(maxRows: x.rows)
        x.values.withUnsafeBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o in logits(inp, o, rows: 0..<x.rows, scratch: scratch) }
        }
        return out
    }
}
