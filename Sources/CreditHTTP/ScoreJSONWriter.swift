import CreditDomain
import CreditService

/// The JSON answer, written by hand into bytes: probabilities in Swift's shortest round-trip
/// form, so JSON, protobuf and in-process scores are equal bit for bit; and no String
/// building per value, since a 1024-applicant answer with reasons is ~5,000 strings.
enum ScoreJSONWriter {
    static func results(_ r: ScoreResults, ids: [String?], model: LoadedModel, single: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + r.count * (160 + 120 * ScoreResults.maxReasons))
        // Quoted once per answer for a batch; a single applicant's few reasons quote in place.
        let fields = model.info.fields
        let fieldNames = r.count > 1 ? fields.map { quoted($0.name) } : []
        let threshold = Array(number(model.info.threshold).utf8)
        out.append(literal: #"{"model_id":"#)
        appendQuoted(&out, model.info.modelId)
        // `errors` are in row order: one pass pairs each with its row.
        var nextError = 0
        func error(_ i: Int) -> RowError? {
            while nextError < r.errors.count && r.errors[nextError].row < i { nextError += 1 }
            return nextError < r.errors.count && r.errors[nextError].row == i ? r.errors[nextError] : nil
        }
        func applicant(_ i: Int) {
            out.append(literal: #""id":"#)
            if i < ids.count, let id = ids[i] { appendQuoted(&out, id) } else { out.append(literal: "null") }
            if let e = error(i) {
                out.append(literal: #","error":{"field":"#)
                appendQuoted(&out, e.field)
                out.append(literal: #","value":"#)
                appendQuoted(&out, e.value)
                out.append(literal: #","reason":"#)
                appendQuoted(&out, e.reason)
                out.append(UInt8(ascii: "}"))
                return
            }
            let p = r.probability[i]
            out.append(literal: #","probability_default":"#)
            out.append(utf8: number(p))
            out.append(literal: #","probability_good":"#)
            out.append(utf8: number(1 - p))
            out.append(literal: r.decision[i] == .refuse ? #","decision":"refuse""# : #","decision":"approve""#)
            out.append(literal: #","threshold":"#)
            out += threshold
            out.append(literal: #","reasons":["#)
            for j in 0..<Int(r.reasonCount[i]) {
                let slot = i * ScoreResults.maxReasons + j
                let f = Int(r.reasonField[slot])
                if j > 0 { out.append(UInt8(ascii: ",")) }
                out.append(literal: #"{"feature":"#)
                if f >= 0 && f < fieldNames.count { out += fieldNames[f] }
                else if f >= 0 && f < fields.count { appendQuoted(&out, fields[f].name) }
                else { out.append(literal: #""""#) }
                out.append(literal: #","text":"#)
                appendQuoted(&out, r.reasonText[slot])
                out.append(literal: #","contribution":"#)
                out.append(utf8: number(r.reasonContribution[slot]))
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        }
        if single {
            out.append(UInt8(ascii: ","))
            applicant(0)
        } else {
            out.append(literal: #","results":["#)
            for i in 0..<r.count {
                out.append(literal: i > 0 ? ",{" : "{")
                applicant(i)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(literal: "}\n")
        return out
    }

    static func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }

    /// A JSON string literal: quotes, backslashes and every control character escaped.
    static func quote(_ s: String) -> String { String(decoding: quoted(s), as: UTF8.self) }

    static func quoted(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        appendQuoted(&out, s)
        return out
    }

    /// Escapes `"`, `\`, control characters, `<` (never a tag, even if a page echoes it raw)
    /// and U+2028/U+2029 (line breaks to JavaScript); other UTF-8 bytes go through as they are.
    static func appendQuoted(_ out: inout [UInt8], _ s: String) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            // Runs of bytes that need no escape are copied whole (most texts are one run).
            var i = 0, run = 0
            while i < bytes.count {
                let b = bytes[i]
                if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b != UInt8(ascii: "<") && b != 0xE2 {
                    i += 1
                    continue
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i]))
                switch b {
                case UInt8(ascii: "\""): out.append(literal: #"\""#)
                case UInt8(ascii: "\\"): out.append(literal: #"\\"#)
                case UInt8(ascii: "\n"): out.append(literal: #"\n"#)
                case UInt8(ascii: "\r"): out.append(literal: #"\r"#)
                case UInt8(ascii: "\t"): out.append(literal: #"\t"#)
                case UInt8(ascii: "<"): out.append(literal: #"\u003c"#)
                case 0..<0x20: appendEscape(&out, UInt32(b))
                case 0xE2 where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                    appendEscape(&out, bytes[i + 2] == 0xA8 ? 0x2028 : 0x2029)
                    i += 2
                default: out.append(b)
                }
                i += 1
                run = i
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<bytes.count]))
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func appendEscape(_ out: inout [UInt8], _ v: UInt32) {
        out.append(literal: #"\u"#)
        for shift in stride(from: 12, through: 0, by: -4) {
            let d = UInt8((v >> UInt32(shift)) & 0xF)
            out.append(d < 10 ? UInt8(ascii: "0") + d : UInt8(ascii: "a") + d - 10)
        }
    }

    static func error(_ status: Int, _ message: String) -> String {
        "{\"error\":{\"status\":\(status),\"message\":" + quote(message) + "}}\n"
    }
}

extension Array where Element == UInt8 {
    /// A literal's bytes in one copy (`+= "…".utf8` goes through the generic sequence path).
    fileprivate mutating func append(literal s: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    fileprivate mutating func append(utf8 s: String) {
        var s = s
        s.withUTF8 { append(contentsOf: $0) }
    }
}
