import CreditDomain
import CreditBench
import CreditData
import CreditDomain
import CreditWire
import Foundation

/// Real applicants from the loan book, shaped as creditd requests for the model's schema.
struct ApplicantSource {
    let table: DataTable
    let fields: [SchemaField]

    init(data: String, queryFile: String, fields: [SchemaField]) throws {
        let query = try String(contentsOfFile: queryFile, encoding: .utf8)
        var forced: [String: FeatureKind] = [:]
        for f in fields { forced[f.name] = f.kind == .numeric ? .numeric : .categorical }
        let source = try DataSources.open(data, kinds: ColumnKinds(forced: forced))
        table = try source.read(query: query)
        self.fields = fields
        guard table.rowCount > 0 else { throw BenchError("no rows in \(data)") }
    }

    /// One applicant, row form (the daemon's one-applicant path).
    func row(_ r: Int) -> ApplicantRow {
        var values: [(field: String, value: ApplicantRow.Value)] = []
        for f in fields {
            guard let c = table.column(named: f.name) else { continue }
            if let col = c.numericValues, let v = col[r % table.rowCount] { values.append((f.name, .number(v))) }
            if let col = c.categoricalValues, let v = col[r % table.rowCount] { values.append((f.name, .text(v))) }
        }
        return ApplicantRow(id: "loan-\(r)", fields: values)
    }

    /// `count` applicants from row `first` on, columnar form.
    func columns(first: Int, count: Int) -> ColumnBatch {
        let rows = (0..<count).map { (first + $0) % table.rowCount }
        var batch = ColumnBatch(ids: rows.map { "loan-\($0)" })
        for f in fields {
            guard let c = table.column(named: f.name) else { continue }
            if let v = c.numericValues { batch.numeric.append((f.name, rows.map { v[$0] ?? .nan })) }
            if let v = c.categoricalValues { batch.categorical.append((f.name, rows.map { v[$0] ?? "" })) }
        }
        return batch
    }

    func template(applicants: Int, reasons: ReasonDetail = .full) throws -> RequestTemplate {
        let input: ScoreInput = applicants == 1 ? .row(row(0)) : .columns(columns(first: 0, count: applicants))
        return try RequestTemplate(Request(id: RequestTemplate.idBase, reasons: reasons, .score(input)), applicants: applicants)
    }

    /// The same applicant as JSON for the HTTP peer (field names as in the loan book).
    func json(_ r: Int) -> [UInt8] {
        var parts: [String] = []
        for f in fields {
            guard let c = table.column(named: f.name) else { continue }
            if let col = c.numericValues { parts.append("\"\(f.name)\":" + (col[r].map { "\($0)" } ?? "null")) }
            if let col = c.categoricalValues {
                parts.append("\"\(f.name)\":" + (col[r].map { "\"" + $0.filter { $0 != "\"" } + "\"" } ?? "null"))
            }
        }
        return Array(("{" + parts.joined(separator: ",") + "}").utf8)
    }

    /// `count` applicants from row `first` on, as the HTTP face's columnar JSON body
    /// (`{"ids": [...], "columns": {field: [values]}}`; missing values as null).
    func jsonColumns(first: Int, count: Int) -> [UInt8] {
        let rows = (0..<count).map { (first + $0) % table.rowCount }
        var cols: [String] = []
        for f in fields {
            guard let c = table.column(named: f.name) else { continue }
            if let v = c.numericValues { cols.append("\"\(f.name)\":[" + rows.map { v[$0].map { "\($0)" } ?? "null" }.joined(separator: ",") + "]") }
            if let v = c.categoricalValues {
                cols.append("\"\(f.name)\":[" + rows.map { v[$0].map { "\"" + $0.filter { $0 != "\"" && $0 != "\\" } + "\"" } ?? "null" }.joined(separator: ",") + "]")
            }
        }
        let ids = rows.map { "\"loan-\($0)\"" }.joined(separator: ",")
        return Array(("{\"ids\":[" + ids + "],\"columns\":{" + cols.joined(separator: ",") + "}}").utf8)
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
