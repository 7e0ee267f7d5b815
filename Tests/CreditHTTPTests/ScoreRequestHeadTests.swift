@testable import CreditHTTP
import CreditCore
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The score-request codec (Sources/CreditHTTP/ScoreRequestHead.swift): what it takes, what it
/// hands to the standard parser, every split of its input, and — the property the raw path
/// rests on — whenever it takes a head, NIO's HTTP/1.1 decoder (llhttp) frames the same bytes
/// the same way: same method, target, body length and keep-alive.
@Suite struct ScoreRequestHeadTests {
    static func parse(_ text: String) -> ScoreRequestHead.Parse {
        Array(text.utf8).withUnsafeBytes { ScoreRequestHead.parse($0) }
    }

    static let post = "POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n"

    @Test func takesPlainScoreRequests() throws {
        guard case .score(let h) = Self.parse(Self.post + "{\"id\": \"a\"}") else { Issue.record("POST not taken"); return }
        #expect(h.post && h.target == "/v1/score" && h.contentLength == 12 && h.contentType == "application/json" && !h.close)
        #expect(h.headLength == Self.post.utf8.count)

        let get = "GET /v1/score?id=a&loan_amnt=9000&reasons=none HTTP/1.1\r\nhost: x\r\nCONNECTION: Close\r\nAuthorization:   Bearer t0k  \r\n\r\n"
        guard case .score(let g) = Self.parse(get) else { Issue.record("GET not taken"); return }
        #expect(!g.post && g.target == "/v1/score?id=a&loan_amnt=9000&reasons=none" && g.contentLength == 0)
        #expect(g.close && g.authorization == "Bearer t0k" && g.contentType == nil)
        #expect(Self.parse("GET /v1/score HTTP/1.1\r\nContent-Length: 0\r\n\r\n") != .other)
    }

    @Test func handsEverythingElseToTheStandardParser() {
        let others = [
            "GET /v1/model HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\n\r\n", "PUT /v1/score HTTP/1.1\r\n\r\n",
            "POST /v1/scorecard HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "POST /v1/score/csv HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            "POST /v1/score HTTP/1.0\r\nContent-Length: 0\r\n\r\n", "POST  /v1/score HTTP/1.1\r\n\r\n",
            "POST /v1/score HTTP/1.1\r\n\r\n",                                                    // no length
            "POST /v1/score HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /v1/score HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /v1/score HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",         // duplicate length
            "POST /v1/score HTTP/1.1\r\nContent-Length: +2\r\n\r\n", "POST /v1/score HTTP/1.1\r\nContent-Length: 2 3\r\n\r\n",
            "POST /v1/score HTTP/1.1\r\nContent-Length: 1234567890\r\n\r\n",
            "POST /v1/score HTTP/1.1\r\nContent-Length : 2\r\n\r\n",                             // space before the colon
            "POST /v1/score HTTP/1.1\r\nX-A: 1\r\n folded\r\nContent-Length: 2\r\n\r\n",         // obs-fold
            "POST /v1/score HTTP/1.1\nContent-Length: 2\r\n\r\n", "POST /v1/score HTTP/1.1\r\nX: a\nContent-Length: 2\r\n\r\n",
            "POST /v1/score HTTP/1.1\r\nX: a\rb\r\nContent-Length: 2\r\n\r\n", "POST /v1/score HTTP/1.1\r\nX: caf\u{e9}\r\nContent-Length: 2\r\n\r\n",
            "POST /v1/score HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
            "POST /v1/score HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\n",
            "POST /v1/score HTTP/1.1\r\nContent-Type: a\r\nContent-Type: b\r\nContent-Length: 2\r\n\r\n",
            "GET /v1/score HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", "GET /v1/score?a=<b> c HTTP/1.1\r\n\r\n",
            "POST /v1/score HTTP/1.1\r\n: empty name\r\nContent-Length: 2\r\n\r\n",
        ]
        for text in others { #expect(Self.parse(text) == .other, "\(text.debugDescription)") }
        // A head longer than the limit, still unfinished: the standard parser's limits apply.
        let long = "POST /v1/score HTTP/1.1\r\nX-Pad: " + String(repeating: "a", count: ScoreRequestHead.maxHeadBytes)
        #expect(Self.parse(long) == .other)
    }

    /// Every prefix of a taken request is `.incomplete`, and the whole is taken, so a request
    /// arriving one byte at a time gets the same answer; a request of another shape is handed
    /// off as soon as its bytes say so, never taken.
    @Test func everySplitOfTheInput() {
        let get = "GET /v1/score?id=a HTTP/1.1\r\nHost: x\r\n\r\n"
        for text in [Self.post, get] {
            let bytes = Array(text.utf8)
            for cut in 0..<bytes.count {
                #expect(Array(bytes[..<cut]).withUnsafeBytes { ScoreRequestHead.parse($0) } == .incomplete, "\(cut) bytes of \(text.debugDescription)")
            }
            guard case .score = bytes.withUnsafeBytes({ ScoreRequestHead.parse($0) }) else { Issue.record("\(text.debugDescription) not taken"); continue }
        }
        let model = Array("GET /v1/model HTTP/1.1\r\n\r\n".utf8)
        let firstOther = (0...model.count).first { Array(model[..<$0]).withUnsafeBytes { ScoreRequestHead.parse($0) } == .other }
        #expect(firstOther == 9, "handed off after \(firstOther.map(String.init) ?? "never") bytes")
        for cut in 0...model.count {
            if case .score = Array(model[..<cut]).withUnsafeBytes({ ScoreRequestHead.parse($0) }) { Issue.record("took \(cut) bytes of GET /v1/model") }
        }
    }

    /// Heads built from pieces that are each valid, odd, or hostile, in every combination the
    /// seed draws. Each head this codec takes is fed, with its body and a second request
    /// behind it, to NIO's `HTTPRequestDecoder`: it must decode the same request and frame
    /// the body at the same byte.
    @Test func framesEveryTakenHeadLikeTheStandardDecoder() throws {
        let lines = ["Host: x", "host:x", "Content-Type: application/json", "content-type:application/json; charset=utf-8",
                     "Authorization: Bearer abc", "Connection: keep-alive", "Connection: close", "connection:  CLOSE ",
                     "X-Trace: a\tb", "User-Agent: Mozilla/5.0 (X11)", "Accept: */*", "X-Empty:", "Content-Length: 5",
                     "Content-Length: 05", "Content-Length: 5", "Content-Length:5 ", "Transfer-Encoding: chunked",
                     "X-Bad: a\u{1}b", " X-Lead: 1", "X-Fold: 1\r\n 2", "Cookie: a=b; c=d", "X-Long: " + String(repeating: "z", count: 300)]
        let starts = ["POST /v1/score HTTP/1.1", "GET /v1/score HTTP/1.1", "GET /v1/score?id=x&reasons=none HTTP/1.1",
                      "POST /v1/score?reasons=none HTTP/1.1", "POST /v1/score HTTP/1.0", "GET /v1/score?q=%20 HTTP/1.1"]
        var random = SplitMix64(seed: 7)
        var taken = 0
        for _ in 0..<3000 {
            let start = starts[Int.random(in: 0..<starts.count, using: &random)]
            var head = start + "\r\n"
            for _ in 0..<Int.random(in: 0...5, using: &random) { head += lines[Int.random(in: 0..<lines.count, using: &random)] + "\r\n" }
            head += "\r\n"
            let body = start.hasPrefix("POST") ? Array("{\"a\":1}".utf8.prefix(5)) : []
            let bytes = Array(head.utf8) + body
            guard case .score(let h) = bytes.withUnsafeBytes({ ScoreRequestHead.parse($0) }) else { continue }
            taken += 1
            // A second request behind it, unless the first says Connection: close (NIO then refuses more).
            let next = h.close ? [] : Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
            try channel.writeInbound(ByteBuffer(bytes: bytes + next))
            var parts: [HTTPServerRequestPart] = []
            while let p = try channel.readInbound(as: HTTPServerRequestPart.self) { parts.append(p) }
            _ = try? channel.finish()
            guard case .head(let nio)? = parts.first else { Issue.record("NIO decoded no head from \(head.debugDescription)"); continue }
            #expect(nio.method == (h.post ? .POST : .GET) && nio.uri == h.target, "\(head.debugDescription)")
            #expect(nio.isKeepAlive == !h.close, "keep-alive differs for \(head.debugDescription)")
            #expect(nio.headers["content-type"].first == h.contentType && nio.headers["authorization"].first == h.authorization)
            var bodyBytes = 0, ends = 0
            var second: HTTPRequestHead?
            for p in parts.dropFirst() {
                switch p {
                case .body(let b): if ends == 0 { bodyBytes += b.readableBytes }
                case .end: ends += 1
                case .head(let s): second = s
                }
            }
            #expect(bodyBytes == h.contentLength && second?.uri == (h.close ? nil : "/healthz") && ends == (h.close ? 1 : 2),
                    "NIO framed \(bodyBytes) body bytes (ours \(h.contentLength)), then \(second?.uri ?? "nothing") for \(head.debugDescription)")
        }
        #expect(taken > 300, "only \(taken) heads taken: the corpus does not exercise the codec")
    }
}
