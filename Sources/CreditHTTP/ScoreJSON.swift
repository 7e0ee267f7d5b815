import CreditDomain
import CreditService
import Foundation

/// A request's applicants, read from JSON or query parameters into columns by field name.
/// Three body shapes: one applicant (an object of field → value), an array of them, or
/// columns (`{"columns": {field: [values]}, "ids": [...]}`). Numbers and numeric text go to
/// numeric fields, text (and numbers, as text) to categorical ones; null, "" and absent
/// are missing. Which shape came decides the answer's shape (one object, or `results`).
struct JSONApplicants {
    var ids: [String?] = []
    /// Field name → one value per applicant (nil = missing), sorted by name once parsed.
    var columns: [(name: String, values: [JSONValue?])] = []
    /// Where each field's column is, while applicants are added.
    private var columnIndex: [String: Int] = [:]
    /// A body of one applicant object: its members, bound straight into the scorer's row
    /// (`bindObject`) instead of into columns (~3 µs less per one-applicant request).
    var object: [JSON.Member]?
    var single = false

    enum JSONValue {
        case number(Double)
        case text(String)
    }

    struct Problem: Error {
        var status: Int
        var message: String
    }

    static let maxDepth = 8

    /// Parses a JSON body. `idField` (the model's id column) and "id" name the applicant.
    static func parse(body: [UInt8], idField: String) throws(Problem) -> JSONApplicants {
        let document: JSON
        do { document = try JSONReader.parse(body, maxDepth: maxDepth) } catch {
            // A body the reader refuses may nest too deep before (or after) its first
            // syntax error: the depth is the answer then. Scanned only on failure: a body the
            // reader takes nests no deeper than `maxDepth` (~2.5 % of a batch's CPU).
            if let depth = nestingDepth(body), depth > maxDepth {
                throw Problem(status: 400, message: "JSON nests \(depth) levels deep; the limit is \(maxDepth)")
            }
            throw Problem(status: 400, message: "body is not valid JSON: \(error)")
        }
        switch document {
        case .object(let members):
            if let columns = members.first(where: { $0.key == "columns" })?.value {
                guard case .object(let cols) = columns else { throw Problem(status: 422, message: "'columns' must be an object of field → array of values") }
                return try columnar(cols, ids: members.first { $0.key == "ids" }?.value)
            }
            var out = JSONApplicants()
            out.single = true
            out.object = members
            return out
        case .array(let items):
            var out = JSONApplicants()
            for (i, item) in items.enumerated() {
                guard case .object(let members) = item else { throw Problem(status: 422, message: "applicant \(i) is not an object of field → value") }
                try out.add(members, idField: idField, row: i)
            }
            out.sortColumns()
            return out
        default:
            throw Problem(status: 422, message: "body must be an applicant object, an array of them, or {\"columns\": ...}")
        }
    }

    /// One applicant from query parameters (the shape Power BI's Web.Contents sends): every
    /// value is text; numeric fields parse it.
    static func query(_ parameters: [(String, String)], idField: String) throws(Problem) -> JSONApplicants {
        var out = JSONApplicants()
        out.single = true
        try out.add(parameters.filter { $0.0 != "reasons" }.map { JSON.Member(key: $0.0, value: .string($0.1)) }, idField: idField, row: 0)
        out.sortColumns()
        return out
    }

    /// The model's id column names the applicant; "id" does when that is absent.
    private struct IdPicker {
        let idField: String
        var id: String?, plainId: String?
        var idSent = false, plainIdSent = false

        /// Takes `m` when it is an id member (false otherwise); a repeated one is an error.
        mutating func take(_ m: JSON.Member, row: Int) throws(Problem) -> Bool {
            guard m.key == idField || m.key == "id" else { return false }
            let isIdField = m.key == idField
            if isIdField ? idSent : plainIdSent { throw Problem(status: 422, message: "applicant \(row): field '\(m.key)' is sent twice") }
            if isIdField { idSent = true; id = JSONApplicants.text(m.value) } else { plainIdSent = true; plainId = JSONApplicants.text(m.value) }
            return true
        }

        var picked: String? { idSent ? id : plainId }
    }

    private mutating func add(_ members: [JSON.Member], idField: String, row: Int) throws(Problem) {
        var picker = IdPicker(idField: idField)
        for m in members {
            if try picker.take(m, row: row) { continue }
            let value = try Self.value(m.value, field: m.key, row: row)
            if let c = columnIndex[m.key] {
                // A column already holding this applicant's value: the field came twice.
                if columns[c].values.count > ids.count { throw Problem(status: 422, message: "applicant \(row): field '\(m.key)' is sent twice") }
                columns[c].values.append(value)
            } else {
                var values = [JSONValue?](repeating: nil, count: ids.count)
                values.append(value)
                columnIndex[m.key] = columns.count
                columns.append((m.key, values))
            }
        }
        ids.append(picker.picked)
        for c in columns.indices where columns[c].values.count < ids.count { columns[c].values.append(nil) }
    }

    /// Columns in name order, so errors about several fields come in the same order whatever
    /// order the fields were sent in.
    private mutating func sortColumns() {
        columns.sort { $0.name < $1.name }
        columnIndex = [:]
    }

    private static func columnar(_ cols: [JSON.Member], ids: JSON?) throws(Problem) -> JSONApplicants {
        var out = JSONApplicants()
        var n: Int?
        var seen = Set<String>()
        for m in cols.sorted(by: { $0.key < $1.key }) {
            let name = m.key
            if !seen.insert(name).inserted { throw Problem(status: 422, message: "column '\(name)' is sent twice") }
            guard case .array(let list) = m.value else { throw Problem(status: 422, message: "column '\(name)' is not an array") }
            if let n, n != list.count { throw Problem(status: 422, message: "column '\(name)' has \(list.count) values for \(n) applicants") }
            n = list.count
            var values: [JSONValue?] = []
            values.reserveCapacity(list.count)
            for (r, v) in list.enumerated() { values.append(try value(v, field: name, row: r)) }
            out.columns.append((name, values))
        }
        if let ids {
            guard case .array(let list) = ids else { throw Problem(status: 422, message: "'ids' is not an array") }
            if let n, n != list.count { throw Problem(status: 422, message: "'ids' has \(list.count) values for \(n) applicants") }
            out.ids = list.map(text)
        } else {
            out.ids = [String?](repeating: nil, count: n ?? 0)
        }
        return out
    }

    private static func value(_ raw: JSON, field: String, row: Int) throws(Problem) -> JSONValue? {
        switch raw {
        case .null: return nil
        case .string(let s): return s.isEmpty ? nil : .text(s)
        case .number(let n): return .number(n)
        default: throw Problem(status: 422, message: "applicant \(row), field '\(field)': a value must be a number, text or null")
        }
    }

    private static func text(_ raw: JSON) -> String? {
        switch raw {
        case .string(let s): return s
        case .number(let n): return formatNumber(n)
        default: return nil
        }
    }

    /// The deepest nesting of arrays and objects (a cheap scan before parsing), nil when it
    /// is shallow.
    static func nestingDepth(_ body: [UInt8]) -> Int? {
        var depth = 0, deepest = 0, inString = false, escaped = false
        for b in body {
            if inString {
                if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
                continue
            }
            switch b {
            case 0x22: inString = true
            case 0x5B, 0x7B: depth += 1; deepest = max(deepest, depth)
            case 0x5D, 0x7D: depth -= 1
            default: break
            }
        }
        return deepest > maxDepth ? deepest : nil
    }

    /// Binds these applicants into `scorer` for `model` and gives their ids; numeric text
    /// that does not parse is that applicant's row error, like the batch scorer's.
    func bind(_ scorer: BatchScorer, model: LoadedModel, reasons: ReasonDetail) -> Result<[String?], Status> {
        if let object { return Self.bindObject(object, scorer, model: model, reasons: reasons) }
        if let s = scorer.begin(model: model, count: ids.count, reasons: reasons) { return .failure(s) }
        for (name, values) in columns {
            let f: Int
            switch scorer.field(named: name) {
            case .failure(let s): return .failure(s)
            case .success(let i): f = i
            }
            switch model.info.fields[f].kind {
            case .numeric:
                var xs = [Double](repeating: .nan, count: values.count)
                for r in values.indices { xs[r] = Self.number(values[r], field: name, row: r, scorer) }
                if let s = scorer.bindNumeric(f, copying: xs) { return .failure(s) }
            case .categorical:
                if let s = scorer.bindCategorical(f, strings: values.map(Self.category)) { return .failure(s) }
            }
        }
        return .success(ids)
    }

    /// One applicant object into the scorer's row, with the column path's rules: the same
    /// conversions, errors in the same order (value errors, then the first unknown field by
    /// name, then row errors by field name).
    private static func bindObject(_ members: [JSON.Member], _ scorer: BatchScorer, model: LoadedModel,
                                   reasons: ReasonDetail) -> Result<[String?], Status> {
        if let s = scorer.begin(model: model, count: 1, reasons: reasons) { return .failure(s) }
        let fields = model.info.fields
        var picker = IdPicker(idField: model.info.idField)
        var seen = [Bool](repeating: false, count: fields.count)
        var unknown: [String] = []
        var rejections: [(field: String, value: String)] = []
        do throws(Problem) {
            for m in members {
                if try picker.take(m, row: 0) { continue }
                let value = try Self.value(m.value, field: m.key, row: 0)
                guard case .success(let f) = scorer.field(named: m.key) else {
                    if unknown.contains(m.key) { throw Problem(status: 422, message: "applicant 0: field '\(m.key)' is sent twice") }
                    unknown.append(m.key)
                    continue
                }
                if seen[f] { throw Problem(status: 422, message: "applicant 0: field '\(m.key)' is sent twice") }
                seen[f] = true
                switch fields[f].kind {
                case .numeric:
                    let x = number(value) { rejections.append((m.key, $0)) }
                    if !x.isNaN, let s = scorer.setRowValue(f, .number(x)) { return .failure(s) }
                case .categorical:
                    guard var text = category(value) else { continue }
                    if let s = text.withUTF8({ scorer.setRowValue(f, .text(UnsafeRawBufferPointer($0))) }) { return .failure(s) }
                }
            }
        } catch {
            return .failure(Status(.invalidArgument, error.message))
        }
        if let first = unknown.min(), case .failure(let s) = scorer.field(named: first) { return .failure(s) }
        for r in rejections.sorted(by: { $0.field < $1.field }) { scorer.reject(row: 0, field: r.field, value: r.value, reason: notANumber) }
        return .success([picker.picked])
    }

    static let notANumber = "not a number"

    /// A numeric field's value: a number, numeric text, or NaN for missing; text that is not
    /// a number is NaN and goes to `rejected`.
    private static func number(_ v: JSONValue?, rejected: (String) -> Void) -> Double {
        switch v {
        case .number(let x): return x
        case .text(let t):
            if let x = Double(t.trimmedWhitespace) { return x }
            rejected(t)
            return .nan
        case nil: return .nan
        }
    }

    private static func number(_ v: JSONValue?, field: String, row: Int, _ scorer: BatchScorer) -> Double {
        number(v) { scorer.reject(row: row, field: field, value: $0, reason: notANumber) }
    }

    /// A categorical field's value: text, a number as text, or nil for missing.
    private static func category(_ v: JSONValue?) -> String? {
        switch v {
        case .number(let x): formatNumber(x)
        case .text(let t): t
        case nil: nil
        }
    }
}
