@testable import CreditHTTP
import CreditCore
import Foundation
import Testing

/// The JSON face's own reader: the grammar's edges, errors instead of replacement, and
/// numbers read to the same bits as the standard library's correctly rounded conversion.
@Suite struct JSONReaderTests {
    func parse(_ s: String, depth: Int = 8) throws -> JSON { try JSONReader.parse(Array(s.utf8), maxDepth: depth) }
    func rejects(_ bytes: [UInt8], depth: Int = 8) -> Bool { (try? JSONReader.parse(bytes, maxDepth: depth)) == nil }

    @Test func readsEveryKindOfValue() throws {
        let doc = try parse(#" { "a" : [1, -2.5e3, 0, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"], "b": {} , "c": [] } "#)
        #expect(doc == .object([
            .init(key: "a", value: .array([.number(1), .number(-2500), .number(0), .bool(true), .bool(false), .null,
                                           .string("x\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1F600}")])),
            .init(key: "b", value: .object([])), .init(key: "c", value: .array([]))]))
        #expect(try parse("\"é😀\"") == .string("é😀"))
        #expect(try parse("1e400") == .number(.infinity))
    }

    @Test func rejectsWhatJSONForbids() {
        for bad in ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "1e", "-", "+1", "NaN", "tru", "nul",
                    "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
                    "{a:1}", "{\"a\" 1}", "[1 2]", "1 2", "'x'"] {
            #expect(rejects(Array(bad.utf8)), "accepted \(bad)")
        }
        #expect(rejects([0x22, 0x61, 0x0A, 0x22]), "raw newline in a string")
        #expect(rejects([0x22, 0xC3, 0x28, 0x22]), "invalid UTF-8")
        #expect(rejects([0x22, 0xED, 0xA0, 0x80, 0x22]), "UTF-8 encoded surrogate")
        #expect(rejects(Array("[[[1]]]".utf8), depth: 2))
        #expect(!rejects(Array("[[1]]".utf8), depth: 2))
    }

    @Test func numbersReadToTheSameBitsAsTheStandardLibrary() throws {
        var rng = SplitMix64(seed: 11)
        for _ in 0..<20_000 {
            let x = Double(bitPattern: rng.next())
            guard x.isFinite else { continue }
            for text in ["\(x)", String(format: "%.17g", x), String(format: "%.6e", x)] {
                guard case .number(let y) = try parse(text) else { Issue.record("not a number: \(text)"); continue }
                #expect(y.bitPattern == Double(text)!.bitPattern, "\(text)")
            }
            guard case .number(let z) = try parse("\(x)") else { continue }
            #expect(z.bitPattern == x.bitPattern, "round trip of \(x)")
        }
    }

    @Test func writerQuotingReadsBackToTheSameText() throws {
        var rng = SplitMix64(seed: 12)
        let alphabet: [Unicode.Scalar] = ["a", "\"", "\\", "<", ">", "/", "\n", "\r", "\t", "\u{0}", "\u{1f}", "\u{7f}", "é", "\u{2028}", "\u{2029}", "😀", " ",
                                          "…", "€", "\u{2027}", "\u{202a}"]   // more E2-led scalars, not escaped
        for _ in 0..<2_000 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int(rng.next() % 12) { s.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            let text = String(s)
            let quoted = ScoreJSONWriter.quoted(text)
            #expect(try JSONReader.parse(quoted, maxDepth: 1) == .string(text))
            #expect(!quoted.contains(UInt8(ascii: "<")) && !quoted.contains { $0 < 0x20 })
            #expect(!String(decoding: quoted, as: UTF8.self).unicodeScalars.contains { $0.value == 0x2028 || $0.value == 0x2029 })
            #expect(quoted == Self.quotedByteByByte(text), "\(text.debugDescription)")
        }
    }

    /// The writer's escaping one byte at a time (what `appendQuoted` did before it copied
    /// runs of plain bytes whole): the reference the run-copying version must equal.
    static func quotedByteByByte(_ s: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""): out += Array(#"\""#.utf8)
            case UInt8(ascii: "\\"): out += Array(#"\\"#.utf8)
            case UInt8(ascii: "\n"): out += Array(#"\n"#.utf8)
            case UInt8(ascii: "\r"): out += Array(#"\r"#.utf8)
            case UInt8(ascii: "\t"): out += Array(#"\t"#.utf8)
            case UInt8(ascii: "<"): out += Array(#"\u003c"#.utf8)
            case 0..<0x20: out += Array(String(format: "\\u%04x", b).utf8)
            case 0xE2 where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                out += Array((bytes[i + 2] == 0xA8 ? #"\u2028"# : #"\u2029"#).utf8)
                i += 2
            default: out.append(b)
            }
            i += 1
        }
        return out + [UInt8(ascii: "\"")]
    }

    /// Decimal literals of every shape a client sends (integers, fractions, exponents, leading
    /// zeros, signs, 1–19 significant digits): the reader's exact fast path and its fallback
    /// give the bits of `Double(_:)`, and the values of a loan application take the fast path.
    @Test func decimalLiteralsReadToTheSameBitsOnBothPaths() throws {
        var rng = SplitMix64(seed: 13)
        func digits(_ n: Int) -> String { String((0..<n).map { _ in Character(String(rng.next() % 10)) }) }
        var fast = 0
        for k in 0..<40_000 {
            let sign = rng.next() % 4 == 0 ? "-" : ""
            let intDigits = Int(rng.next() % 10), fracDigits = Int(rng.next() % 10)
            var whole = intDigits == 0 ? "0" : digits(intDigits)
            if whole.count > 1 && whole.first == "0" { whole = "1" + whole.dropFirst() }   // JSON: no leading zeros
            var text = sign + whole
            if fracDigits > 0 { text += "." + (k % 5 == 0 ? "000" : "") + digits(fracDigits) }
            if rng.next() % 3 == 0 { text += (rng.next() % 2 == 0 ? "e" : "E") + ["", "+", "-"][Int(rng.next() % 3)] + String(rng.next() % 30) }
            let literal = Array(text.utf8)
            let parsed = try JSONReader.parse(literal, maxDepth: 1)
            let expected = Double(text)!
            #expect(parsed == .number(expected) && { if case .number(let y) = parsed { y.bitPattern == expected.bitPattern } else { false } }(), "\(text)")
            if let x = literal.withUnsafeBufferPointer({ JSONReader.exactDecimal($0) }) {
                fast += 1
                #expect(x.bitPattern == expected.bitPattern, "fast path: \(text)")
            }
        }
        #expect(fast > 10_000, "the fast path took only \(fast) literals")
        for text in ["52000", "30", "11.5", "0.17", "9000", "4", "0", "0.0", "1e5", "2.5E-3", "123456789012345"] {
            let x = Array(text.utf8).withUnsafeBufferPointer { JSONReader.exactDecimal($0) }
            #expect(x?.bitPattern == Double(text)!.bitPattern, "\(text) should take the fast path")
        }
        for text in ["-0", "-0.0", "1234567890123456", "1e23", "1e-23", "0.1e400"] {   // left to Double(_:)
            #expect(Array(text.utf8).withUnsafeBufferPointer { JSONReader.exactDecimal($0) } == nil, "\(text)")
            #expect(try parse(text) == .number(Double(text)!))
        }
        #expect(try { if case .number(let z) = try parse("-0") { z.sign == .minus } else { false } }())
    }

    /// The depth scan runs only when the reader refuses a body, and still decides the message
    /// whenever the body nests too deep, whatever else is wrong with it and wherever.
    @Test func aTooDeepBodyIsToldSoEvenWithASyntaxErrorBeforeTheDepth() {
        func message(_ body: String) -> String {
            do { _ = try JSONApplicants.parse(body: Array(body.utf8), idField: "id"); return "accepted" } catch { return error.message }
        }
        let deep = String(repeating: "[", count: 12) + "1" + String(repeating: "]", count: 12)
        #expect(message(#"{"a": x, "b": "# + deep + "}").contains("nests 13 levels deep"))
        #expect(message(deep + " trailing").contains("nests 12 levels deep"))
        #expect(message(deep).contains("nests 12 levels deep"))
        #expect(message(#"{"a": x}"#).contains("not valid JSON"))
        #expect(!message(String(repeating: "[", count: 8) + String(repeating: "]", count: 8)).contains("nests"))   // at the limit: read
    }
}
