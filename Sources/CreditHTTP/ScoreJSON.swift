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
    /// Field name → one value per applicant (nil = missing).
    var columns: [(name: String, values: [JSONValue?])] = []
    var single = false
    var count: Int { ids.count }

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
        if let depth = nestingDepth(body), depth > maxDepth {
            throw Problem(status: 400, message: "JSON nests \(depth) levels deep; the limit is \(maxDepth)")
        }
        // JSONDecoder, not JSONSerialization: the latter's numbers can be 1 ulp off, and
        // scores must equal the protobuf face's bit for bit.
        let any: Any
        do { any = try JSONDecoder().decode(JSONNode.self, from: Data(body)).value } catch {
            throw Problem(status: 400, message: "body is not valid JSON: \(Self.describe(error))")
        }
        if let object = any as? [String: Any] {
            if let columns = object["columns"] {
                guard let cols = columns as? [String: Any] else { throw Problem(status: 422, message: "'columns' must be an object of field → array of values") }
                return try columnar(cols, ids: object["ids"])
            }
            var out = JSONApplicants()
            out.single = true
            try out.add(object, idField: idField, row: 0)
            return out
        }
        if let array = any as? [Any] {
            var out = JSONApplicants()
            for (i, item) in array.enumerated() {
                guard let object = item as? [String: Any] else { throw Problem(status: 422, message: "applicant \(i) is not an object of field → value") }
                try out.add(object, idField: idField, row: i)
            }
            return out
        }
        throw Problem(status: 422, message: "body must be an applicant object, an array of them, or {\"columns\": ...}")
    }

    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let c) = error { return c.underlyingError.map { "\($0)" } ?? c.debugDescription }
        return "\(error)"
    }

    /// One applicant from query parameters (the shape Power BI's Web.Contents sends): every
    /// value is text; numeric fields parse it.
    static func query(_ parameters: [(String, String)], idField: String) throws(Problem) -> JSONApplicants {
        var object: [String: Any] = [:]
        for (k, v) in parameters where k != "reasons" {
            if object[k] != nil { throw Problem(status: 422, message: "field '\(k)' is sent twice") }
            object[k] = v
        }
        var out = JSONApplicants()
        out.single = true
        try out.add(object, idField: idField, row: 0)
        return out
    }

    private mutating func add(_ object: [String: Any], idField: String, row: Int) throws(Problem) {
        var id: String?
        for (key, raw) in object.sorted(by: { $0.key < $1.key }) {
            if key == "id" || key == idField {
                id = Self.text(raw)
                continue
            }
            let value = try Self.value(raw, field: key, row: row)
            if let c = columns.firstIndex(where: { $0.name == key }) {
                columns[c].values.append(value)
            } else {
                columns.append((key, [JSONValue?](repeating: nil, count: ids.count) + [value]))
            }
        }
        ids.append(id)
        for c in columns.indices where columns[c].values.count < ids.count { columns[c].values.append(nil) }
    }

    private static func columnar(_ cols: [String: Any], ids: Any?) throws(Problem) -> JSONApplicants {
        var out = JSONApplicants()
        var n: Int?
        for (name, raw) in cols.sorted(by: { $0.key < $1.key }) {
            guard let list = raw as? [Any] else { throw Problem(status: 422, message: "column '\(name)' is not an array") }
            if let n, n != list.count { throw Problem(status: 422, message: "column '\(name)' has \(list.count) values for \(n) applicants") }
            n = list.count
            var values: [JSONValue?] = []
            values.reserveCapacity(list.count)
            for (r, v) in list.enumerated() { values.append(try value(v, field: name, row: r)) }
            out.columns.append((name, values))
        }
        if let ids {
            guard let list = ids as? [Any] else { throw Problem(status: 422, message: "'ids' is not an array") }
            if let n, n != list.count { throw Problem(status: 422, message: "'ids' has \(list.count) values for \(n) applicants") }
            out.ids = list.map(text)
        } else {
            out.ids = [String?](repeating: nil, count: n ?? 0)
        }
        return out
    }

    private static func value(_ raw: Any, field: String, row: Int) throws(Problem) -> JSONValue? {
        switch raw {
        case is NSNull: return nil
        case let s as String: return s.isEmpty ? nil : .text(s)
        case let n as Double: return .number(n)
        default: throw Problem(status: 422, message: "applicant \(row), field '\(field)': a value must be a number, text or null")
        }
    }

    private static func text(_ raw: Any) -> String? {
        switch raw {
        case let s as String: return s
        case let n as Double: return formatNumber(n)
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

    /// Binds these applicants into `scorer` for `model`; numeric text that does not parse is
    /// that applicant's row error, like the batch scorer's.
    func bind(_ scorer: BatchScorer, model: LoadedModel, reasons: ReasonDetail) -> Status? {
        if let s = scorer.begin(model: model, count: count, reasons: reasons) { return s }
        for (name, values) in columns {
            let f: Int
            switch scorer.field(named: name) {
            case .failure(let s): return s
            case .success(let i): f = i
            }
            switch model.info.fields[f].kind {
            case .numeric:
                var xs = [Double](repeating: .nan, count: values.count)
                for (r, v) in values.enumerated() {
                    switch v {
                    case .number(let x): xs[r] = x
                    case .text(let t):
                        if let x = Double(t.trimmingCharacters(in: .whitespaces)) { xs[r] = x }
                        else { scorer.reject(row: r, field: name, value: t, reason: "not a number") }
                    case nil: break
                    }
                }
                if let s = scorer.bindNumeric(f, copying: xs) { return s }
            case .categorical:
                let strings: [String?] = values.map { v in
                    switch v {
                    case .number(let x): formatNumber(x)
                    case .text(let t): t
                    case nil: nil
                    }
                }
                if let s = scorer.bindCategorical(f, strings: strings) { return s }
            }
        }
        return nil
    }
}

/// The JSON answer, written by hand: probabilities in Swift's shortest round-trip form, so
/// JSON, protobuf and in-process scores are equal bit for bit.
enum ScoreJSONWriter {
    static func results(_ r: ScoreResults, ids: [String?], model: LoadedModel, single: Bool) -> String {
        var out = "{\"model_id\":" + quote(model.info.modelId)
        // `errors` are in row order: one pass pairs each with its row.
        var nextError = 0
        func error(_ i: Int) -> RowError? {
            while nextError < r.errors.count && r.errors[nextError].row < i { nextError += 1 }
            return nextError < r.errors.count && r.errors[nextError].row == i ? r.errors[nextError] : nil
        }
        if single {
            out += "," + applicant(r, 0, ids.first ?? nil, error(0), model: model)
        } else {
            out += ",\"results\":["
            for i in 0..<r.count {
                if i > 0 { out += "," }
                out += "{" + applicant(r, i, i < ids.count ? ids[i] : nil, error(i), model: model) + "}"
            }
            out += "]"
        }
        return out + "}\n"
    }

    private static func applicant(_ r: ScoreResults, _ i: Int, _ id: String?, _ error: RowError?, model: LoadedModel) -> String {
        var out = "\"id\":" + (id.map(quote) ?? "null")
        if let e = error {
            return out + ",\"error\":{\"field\":" + quote(e.field) + ",\"value\":" + quote(e.value) + ",\"reason\":" + quote(e.reason) + "}"
        }
        let p = r.probability[i]
        out += ",\"probability_default\":\(number(p)),\"probability_good\":\(number(1 - p))"
        out += ",\"decision\":" + (r.decision[i] == .refuse ? "\"refuse\"" : "\"approve\"")
        out += ",\"threshold\":\(number(model.info.threshold)),\"reasons\":["
        for j in 0..<Int(r.reasonCount[i]) {
            let slot = i * ScoreResults.maxReasons + j
            let f = Int(r.reasonField[slot])
            if j > 0 { out += "," }
            out += "{\"feature\":" + quote(f >= 0 && f < model.info.fields.count ? model.info.fields[f].name : "")
            out += ",\"text\":" + quote(r.reasonText[slot]) + ",\"contribution\":\(number(r.reasonContribution[slot]))}"
        }
        return out + "]"
    }

    static func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }

    /// A JSON string literal: quotes, backslashes and every control character escaped.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"   // never a tag, even if a page echoes it raw
            default:
                if u.value < 0x20 || u.value == 0x2028 || u.value == 0x2029 {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    static func error(_ status: Int, _ message: String) -> String {
        "{\"error\":{\"status\":\(status),\"message\":" + quote(message) + "}}\n"
    }
}

/// A JSON document as Swift values (`NSNull`, `Bool`, `Double`, `String`, `[Any]`,
/// `[String: Any]`), decoded by JSONDecoder so numbers are correctly rounded.
struct JSONNode: Decodable {
    let value: Any

    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var out: [Any] = []
            while !array.isAtEnd { out.append(try array.decode(JSONNode.self).value) }
            value = out
        } else if let object = try? decoder.container(keyedBy: Key.self) {
            var out: [String: Any] = [:]
            for key in object.allKeys { out[key.stringValue] = try object.decode(JSONNode.self, forKey: key).value }
            value = out
        } else {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { value = NSNull() }
            else if let b = try? c.decode(Bool.self) { value = b }
            else if let d = try? c.decode(Double.self) { value = d }
            else { value = try c.decode(String.self) }
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
