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
        let alphabet: [Unicode.Scalar] = ["a", "\"", "\\", "<", ">", "/", "\n", "\r", "\t", "\u{0}", "\u{1f}", "\u{7f}", "é", "\u{2028}", "\u{2029}", "😀", " "]
        for _ in 0..<2_000 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int(rng.next() % 12) { s.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            let text = String(s)
            let quoted = ScoreJSONWriter.quoted(text)
            #expect(try JSONReader.parse(quoted, maxDepth: 1) == .string(text))
            #expect(!quoted.contains(UInt8(ascii: "<")) && !quoted.contains { $0 < 0x20 })
            #expect(!String(decoding: quoted, as: UTF8.self).unicodeScalars.contains { $0.value == 0x2028 || $0.value == 0x2029 })
        }
    }
}
