/// The head of a score request, recognised straight from a connection's bytes.
///
/// Why: NIO's HTTP/1.1 decoder, its conversion to HTTPTypes and the response encoder cost a
/// one-applicant request about as much CPU as scoring it (docs/http.md). The score requests a
/// service sends are small and regular, so `RawScorePath` answers them from the bytes, and
/// this is its codec. It recognises one narrow shape — `POST` or `GET` of `/v1/score`,
/// HTTP/1.1, a Content-Length body, plain header lines — and says `.other` for anything else,
/// which then goes to NIO's decoder (llhttp) for good. It never refuses: it either accepts a
/// head the standard parser frames the same way (a differential test checks that) or
/// declines, and errors are the standard parser's to report.
struct ScoreRequestHead: Equatable {
    var post: Bool
    /// The request target: `/v1/score` with its query, if any.
    var target: String
    var contentLength: Int
    var contentType: String?
    var authorization: String?
    /// `Connection: close`.
    var close: Bool
    /// Bytes up to and including the blank line that ends the head.
    var headLength: Int

    enum Parse: Equatable {
        /// The bytes so far can still become a score request's head.
        case incomplete
        /// Not a head this codec takes: hand the connection to the standard parser.
        case other
        case score(ScoreRequestHead)
    }

    /// Longer heads go to the standard parser (which applies its own limits).
    static let maxHeadBytes = 16 * 1024
    /// Enough bytes to tell a score request's first line from another's.
    static let firstLineBytes = 32

    /// Whether `bytes` hold a head's end (a blank line), searching from byte `from`.
    static func containsHeadEnd(_ bytes: UnsafeRawBufferPointer, from: Int) -> Bool {
        let b = bytes.bindMemory(to: UInt8.self)
        var i = max(from, 0)
        while i + 3 < b.count {
            if b[i + 3] == 0x0A, b[i + 2] == 0x0D, b[i + 1] == 0x0A, b[i] == 0x0D { return true }
            i += 1
        }
        return false
    }

    private static let path = Array("/v1/score".utf8)
    private static let version = Array(" HTTP/1.1\r\n".utf8)

    static func parse(_ bytes: UnsafeRawBufferPointer) -> Parse {
        let b = bytes.bindMemory(to: UInt8.self)
        let n = b.count
        let post: Bool
        if n >= 5, b[0] == 0x50, b[1] == 0x4F, b[2] == 0x53, b[3] == 0x54, b[4] == 0x20 { post = true }       // "POST "
        else if n >= 4, b[0] == 0x47, b[1] == 0x45, b[2] == 0x54, b[3] == 0x20 { post = false }             // "GET "
        else { return prefixOf(b, "POST ") || prefixOf(b, "GET ") ? .incomplete : .other }
        var i = post ? 5 : 4
        // Target: /v1/score, then end or a query; visible ASCII only.
        for c in path {
            guard i < n else { return .incomplete }
            guard b[i] == c else { return .other }
            i += 1
        }
        let targetStart = post ? 5 : 4
        guard i < n else { return .incomplete }
        if b[i] == 0x3F {  // "?"
            while i < n, b[i] != 0x20 {
                guard b[i] > 0x20, b[i] < 0x7F else { return .other }
                i += 1
            }
        }
        let targetEnd = i
        for c in version {
            guard i < n else { return .incomplete }
            guard b[i] == c else { return .other }
            i += 1
        }
        var head = ScoreRequestHead(post: post, target: String(decoding: UnsafeBufferPointer(rebasing: b[targetStart..<targetEnd]), as: UTF8.self),
                                    contentLength: -1, contentType: nil, authorization: nil, close: false, headLength: 0)
        // Header lines until the blank line.
        while true {
            guard i + 1 < n else { return n >= maxHeadBytes ? .other : .incomplete }
            if b[i] == 0x0D {
                guard b[i + 1] == 0x0A else { return .other }
                head.headLength = i + 2
                break
            }
            let nameStart = i
            while i < n, isTokenChar(b[i]) { i += 1 }
            guard i < n else { return n >= maxHeadBytes ? .other : .incomplete }
            guard b[i] == 0x3A, i > nameStart else { return .other }  // ":" right after a non-empty name
            let nameEnd = i
            i += 1
            while i < n, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
            let valueStart = i
            while i < n, b[i] != 0x0D {
                guard b[i] >= 0x20 && b[i] < 0x7F || b[i] == 0x09 else { return .other }
                i += 1
            }
            guard i + 1 < n else { return n >= maxHeadBytes ? .other : .incomplete }
            guard b[i + 1] == 0x0A else { return .other }
            var valueEnd = i
            while valueEnd > valueStart, b[valueEnd - 1] == 0x20 || b[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            i += 2
            guard i <= maxHeadBytes else { return .other }
            let name = UnsafeBufferPointer(rebasing: b[nameStart..<nameEnd])
            let value = UnsafeBufferPointer(rebasing: b[valueStart..<valueEnd])
            switch Header(name) {
            case .contentLength:
                guard head.contentLength < 0, !value.isEmpty, value.count <= 9, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return .other }
                head.contentLength = value.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            case .contentType:
                guard head.contentType == nil else { return .other }
                head.contentType = String(decoding: value, as: UTF8.self)
            case .authorization:
                guard head.authorization == nil else { return .other }
                head.authorization = String(decoding: value, as: UTF8.self)
            case .connection:
                if equalsIgnoringCase(value, "close") { head.close = true }
                else if !equalsIgnoringCase(value, "keep-alive") { return .other }
            case .refused:
                return .other
            case .plain:
                break
            }
        }
        if post {
            guard head.contentLength >= 0 else { return .other }
        } else {
            guard head.contentLength <= 0 else { return .other }
            head.contentLength = 0
        }
        return .score(head)
    }

    /// The header names this codec acts on; `refused` ones change framing or the protocol.
    private enum Header {
        case contentLength, contentType, authorization, connection, refused, plain

        init(_ name: UnsafeBufferPointer<UInt8>) {
            if equalsIgnoringCase(name, "content-length") { self = .contentLength }
            else if equalsIgnoringCase(name, "content-type") { self = .contentType }
            else if equalsIgnoringCase(name, "authorization") { self = .authorization }
            else if equalsIgnoringCase(name, "connection") { self = .connection }
            else if equalsIgnoringCase(name, "transfer-encoding") || equalsIgnoringCase(name, "expect")
                        || equalsIgnoringCase(name, "upgrade") { self = .refused }
            else { self = .plain }
        }
    }

    /// RFC 9110 token characters (a header name).
    private static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: true
        default: false
        }
    }

    private static func prefixOf(_ b: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        b.count < text.utf8CodeUnitCount && (0..<b.count).allSatisfy { b[$0] == text.utf8Start[$0] }
    }
}

/// ASCII case-insensitive comparison with a lower-case literal.
private func equalsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ lower: StaticString) -> Bool {
    guard bytes.count == lower.utf8CodeUnitCount else { return false }
    let l = lower.utf8Start
    for k in 0..<bytes.count {
        let c = bytes[k]
        guard (c >= 0x41 && c <= 0x5A ? c | 0x20 : c) == l[k] else { return false }
    }
    return true
}
