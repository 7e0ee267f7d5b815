/// A JSON document (RFC 8259) as the score endpoint reads it.
///
/// Hand-written because it is the JSON face's hot path: Foundation's JSONDecoder through a
/// dynamic node type spent about 8 µs per value of a 1024-applicant batch, the scoring
/// itself well under 1 µs. Numbers are parsed by the standard library's correctly rounded
/// `Double(_:)`, so a probability sent back in shortest round-trip form reads back to the
/// same bits, and JSON scores equal protobuf scores bit for bit.
enum JSON: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    /// Members in document order (duplicates kept: the caller decides).
    case object([Member])

    struct Member: Equatable {
        var key: String
        var value: JSON
    }
}

struct JSONSyntaxError: Error, CustomStringConvertible {
    var offset: Int
    var message: String
    var description: String { "\(message) at byte \(offset)" }
}

struct JSONReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0
    private let maxDepth: Int

    /// Parses one JSON value filling the whole of `body` (whitespace around it allowed).
    static func parse(_ body: [UInt8], maxDepth: Int) throws(JSONSyntaxError) -> JSON {
        let result: Result<JSON, JSONSyntaxError> = body.withUnsafeBufferPointer { buf in
            var reader = JSONReader(bytes: buf, maxDepth: maxDepth)
            do {
                reader.skipSpace()
                let v = try reader.value(depth: 0)
                reader.skipSpace()
                if reader.i != buf.count { throw reader.fail("unexpected text after the JSON value") }
                return .success(v)
            } catch let e as JSONSyntaxError {
                return .failure(e)
            } catch {
                return .failure(JSONSyntaxError(offset: 0, message: "\(error)"))
            }
        }
        return try result.get()
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    private func fail(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: i, message: message) }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func value(depth: Int) throws(JSONSyntaxError) -> JSON {
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("unexpected end of input") }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw fail("unexpected character") }
        i += n
    }

    private mutating func object(depth: Int) throws(JSONSyntaxError) -> JSON {
        if depth > maxDepth { throw fail("nesting deeper than \(maxDepth)") }
        i += 1
        var members: [JSON.Member] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a member name in quotes") }
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':' after a member name") }
            i += 1
            skipSpace()
            members.append(JSON.Member(key: key, value: try value(depth: depth)))
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end of input in an object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw fail("expected ',' or '}' in an object")
        }
    }

    private mutating func array(depth: Int) throws(JSONSyntaxError) -> JSON {
        if depth > maxDepth { throw fail("nesting deeper than \(maxDepth)") }
        i += 1
        var items: [JSON] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth))
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end of input in an array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw fail("expected ',' or ']' in an array")
        }
    }

    /// A string literal starting at the opening quote. Invalid UTF-8, raw control characters
    /// and lone surrogates are errors, not replaced: the answer must be about the bytes sent.
    private mutating func string() throws(JSONSyntaxError) -> String {
        i += 1
        let start = i
        // Fast path: no escapes.
        var bits: UInt8 = 0
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 { bits |= bytes[i]; i += 1 }
        guard i < bytes.count else { throw fail("unterminated string") }
        if bytes[i] == UInt8(ascii: "\"") {
            let text = UnsafeBufferPointer(rebasing: bytes[start..<i])
            // ASCII is valid UTF-8 as it stands: `String(validating:)` is generic over the
            // encoding and looked up its metadata on every call (~6 % of a batch's CPU).
            let s = bits < 0x80 ? String(decoding: text, as: UTF8.self) : try utf8(text)
            i += 1
            return s
        }
        var out = Array(bytes[start..<i])
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; break }
            if b < 0x20 { throw fail("control character in a string") }
            if b != UInt8(ascii: "\\") { out.append(b); i += 1; continue }
            guard i + 1 < bytes.count else { throw fail("unterminated string") }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else { throw fail("lone surrogate in a string") }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("lone surrogate in a string") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("lone surrogate in a string")
                }
                out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default: throw fail("bad escape in a string")
            }
        }
        return try out.withUnsafeBufferPointer { buf throws(JSONSyntaxError) in try utf8(buf) }
    }

    private func utf8(_ buf: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> String {
        guard let s = String(validating: buf, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return s
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    /// A number in JSON's grammar, converted with correct rounding (out of range: ±inf,
    /// which the scorer treats like any other non-finite value).
    private mutating func number() throws(JSONSyntaxError) -> Double {
        let start = i
        func digits(_ i: inout Int) -> Int {
            let s = i
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
            return i - s
        }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count else { throw fail("bad number") }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else if digits(&i) == 0 { throw fail("bad number") }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            if digits(&i) == 0 { throw fail("bad number: digits must follow '.'") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            if digits(&i) == 0 { throw fail("bad number: digits must follow the exponent") }
        }
        let literal = UnsafeBufferPointer(rebasing: bytes[start..<i])
        if let x = Self.exactDecimal(literal) { return x }
        let text = String(decoding: literal, as: UTF8.self)
        guard let x = Double(text) else { throw JSONSyntaxError(offset: start, message: "bad number") }
        return x
    }

    /// Powers of ten that are exact Doubles.
    private static let exactPowersOfTen: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { r, _ in r * 10 } }

    /// A number literal already checked against JSON's grammar, converted without a String
    /// when the result is exact by construction (Clinger's fast path): at most 15 significant
    /// digits (so the digits are an exact Double) scaled by an exact power of ten, 10^0…10^22,
    /// is one correctly rounded IEEE multiply or divide, the same Double as `Double(_:)`.
    /// Nil otherwise (more digits, a larger scale, -0): then `Double(_:)` decides. Incomes,
    /// ages, rates and amounts all take this path (~5 % of a batch's CPU was `strtod`).
    static func exactDecimal(_ literal: UnsafeBufferPointer<UInt8>) -> Double? {
        var i = 0, digits = 0, mantissa: Int64 = 0, scale = 0
        let negative = literal.first == UInt8(ascii: "-")
        if negative { i = 1 }
        var sawPoint = false
        while i < literal.count {
            let b = literal[i]
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                if mantissa != 0 || b != UInt8(ascii: "0") { digits += 1 }
                if digits > 15 { return nil }
                mantissa = mantissa * 10 + Int64(b - UInt8(ascii: "0"))
                if sawPoint { scale -= 1 }
            } else if b == UInt8(ascii: ".") {
                sawPoint = true
            } else {
                break   // an exponent
            }
            i += 1
        }
        if i < literal.count {
            i += 1   // 'e' or 'E'
            var expNegative = false
            if literal[i] == UInt8(ascii: "+") || literal[i] == UInt8(ascii: "-") { expNegative = literal[i] == UInt8(ascii: "-"); i += 1 }
            var e = 0
            while i < literal.count {
                e = e * 10 + Int(literal[i] - UInt8(ascii: "0"))
                if e > 400 { return nil }
                i += 1
            }
            scale += expNegative ? -e : e
        }
        if mantissa == 0 { return negative ? nil : 0 }
        guard scale >= -22 && scale <= 22 else { return nil }
        let m = Double(mantissa)
        let x = scale >= 0 ? m * exactPowersOfTen[scale] : m / exactPowersOfTen[-scale]
        return negative ? -x : x
    }
}
