import CreditCore
import CreditNet
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The raw score path (Sources/CreditHTTP/RawScorePath.swift) answers `/v1/score` from the
/// connection's bytes and hands a connection to Hummingbird at its first request of another
/// shape. Its answers are the router's, byte for byte; pipelined requests come back in order
/// on both sides of a hand-off; a request split into single bytes is answered like one sent
/// whole; refusals (415, 413) skip the body and keep the connection; `Connection: close`
/// closes; idle and half-sent requests are cut after the idle timeout while a busy connection
/// is not; a graceful stop lets a request already begun finish.
@Suite(.serialized) struct RawScorePathTests {
    static let body = Array(#"{"id": "split", "loan_amnt": 9000, "person_income": 52000}"#.utf8)

    static func post(_ body: [UInt8], extra: String = "", type: String = "application/json") -> [UInt8] {
        Array("POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\n\(extra)\r\n".utf8) + body
    }

    static let health = Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
    static let query = Array("GET /v1/score?id=split&loan_amnt=9000&person_income=52000 HTTP/1.1\r\nHost: x\r\n\r\n".utf8)

    @Test func rawAnswersAreTheRoutersPipelinedSplitRefusedAndClosed() async throws {
        let faces = try await Faces()
        let port = faces.port
        let checks = try await offPool { () throws -> [Check] in
            var checks: [Check] = []
            func expect(_ ok: Bool, _ what: String) { checks.append(Check(ok: ok, what: what)) }
            // The router's answer: a connection handed off by a first request of another kind.
            let routed = try RawConnection(port: port)
            routed.send(Self.health + Self.post(Self.body) + Self.query)
            _ = try routed.readReply()
            let routedPost = try routed.readReply(), routedGet = try routed.readReply()
            expect(routedPost.status == 200 && routedPost.text.contains("probability_default"), "routed: \(routedPost.text)")

            let c = try RawConnection(port: port)
            // Pipelined on the raw path: POST, GET, POST in one write, answers in order.
            c.send(Self.post(Self.body) + Self.query + Self.post(Self.body, extra: "X-Trace: 1\r\n"))
            let a = try c.readReply(), b = try c.readReply(), d = try c.readReply()
            expect(a.body == routedPost.body && d.body == routedPost.body, "raw POST differs from the router's: \(a.text)")
            expect(b.body == routedGet.body && b.probabilities == a.probabilities, "raw GET differs from the router's: \(b.text)")
            expect(a.headers["content-type"] == "application/json" && a.headers["content-length"] == String(a.body.count), "\(a.headers)")

            // Split input: every byte in its own write.
            for byte in Self.post(Self.body) {
                c.send([byte])
                usleep(200)
            }
            let split = try c.readReply()
            expect(split.status == 200 && split.body == routedPost.body, "split: \(split.text)")

            // Refusals read past their body and keep the connection.
            c.send(Self.post(Array("{}".utf8), type: "text/plain"))
            let plain = try c.readReply()
            expect(plain.status == 415, "text/plain: \(plain.status) \(plain.text)")
            c.send(Self.post([UInt8](repeating: 0x20, count: (4 << 20) + 1)))
            let big = try c.readReply()
            expect(big.status == 413 && big.text.contains("body over"), "\(big.status) \(big.text)")
            c.send(Self.post(Self.body))
            let again = try c.readReply()
            expect(again.body == routedPost.body, "after 415 and 413: \(again.text)")

            // Connection: close is honoured.
            c.send(Self.post(Self.body, extra: "Connection: close\r\n"))
            let last = try c.readReply()
            expect(last.status == 200 && last.headers["connection"] == "close", "close: \(last.status) \(last.headers)")
            expect(c.atEnd(), "the face kept the connection open after Connection: close")

            // A hand-off in the middle of a pipeline keeps the order.
            let m = try RawConnection(port: port)
            m.send(Self.post(Self.body) + Array("GET /v1/model HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + Self.post(Self.body) + Self.health)
            let r1 = try m.readReply(), r2 = try m.readReply(), r3 = try m.readReply(), r4 = try m.readReply()
            expect(r1.body == routedPost.body && r3.body == routedPost.body, "\(r1.text) \(r3.text)")
            expect(r2.text.contains("\"algorithm\"") && r4.text.contains("live"), "\(r2.text.prefix(80)) \(r4.text)")
            return checks
        }
        for check in checks { #expect(check.ok, "\(check.what)") }
        let metrics = try await HTTP.request(port: port, "GET", "/metrics").text
        let accepted = metrics.split(separator: "\n").first { $0.hasPrefix(#"credit_connections_total{face="http"}"#) }
        #expect(Int(accepted?.split(separator: " ").last ?? "") ?? 0 >= 4, "\(accepted ?? "no credit_connections_total for http")")
        await faces.stop()
    }

    /// Idle timeout 1 s: half a score head and an idle connection are closed after it, a
    /// connection sending a request every 0.3 s is not.
    @Test func idleAndHalfSentRequestsAreCutBusyOnesAreNot() async throws {
        let faces = try await Faces(idleTimeout: 1)
        let port = faces.port
        let checks = try await offPool { () throws -> [Check] in
            var checks: [Check] = []
            func expect(_ ok: Bool, _ what: String) { checks.append(Check(ok: ok, what: what)) }
            let half = try RawConnection(port: port)
            half.send(Array("POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Le".utf8))
            let routedHalf = try RawConnection(port: port)
            routedHalf.send(Array("GET /v1/model HTTP/1.1\r\nHo".utf8))
            let busy = try RawConnection(port: port)
            let started = SystemClock.monotonicNanos()
            var answered = 0
            while SystemClock.monotonicNanos() - started < 2_500_000_000 {
                busy.send(Self.post(Self.body))
                if try busy.readReply().status == 200 { answered += 1 }
                usleep(300_000)
            }
            expect(answered >= 7, "busy connection answered \(answered) requests in 2.5 s")
            expect(half.atEnd(), "half a score head still open after 2.5 s")
            expect(routedHalf.atEnd(), "half a routed head still open after 2.5 s")
            let idleFrom = SystemClock.monotonicNanos()
            let closed = busy.atEnd()
            let after = Double(SystemClock.monotonicNanos() - idleFrom) / 1e9
            expect(closed && after > 0.5 && after < 3, "idle connection closed \(closed) after \(after) s")
            return checks
        }
        for check in checks { #expect(check.ok, "\(check.what)") }
        await faces.stop()
    }

    /// A graceful stop arriving while a request's body is on its way: the request is answered,
    /// then the connection closes and the face stops.
    @Test func gracefulStopFinishesARequestBegun() async throws {
        let faces = try await Faces()
        let port = faces.port
        let request = Self.post(Self.body)
        let c = try RawConnection(port: port)
        c.send(Array(request[..<(request.count - 10)]))
        try await Task.sleep(for: .milliseconds(200))
        let stopping = Task { await faces.http.stop() }
        try await Task.sleep(for: .milliseconds(300))
        c.send(Array(request[(request.count - 10)...]))
        let reply = try await offPool { try c.readReply() }
        #expect(reply.status == 200 && reply.text.contains("probability_default"), "\(reply.status) \(reply.text)")
        #expect(reply.headers["connection"] == "close", "\(reply.headers)")
        #expect(try await offPool { c.atEnd() })
        await stopping.value
        await faces.stop()
    }
}

struct Check: Sendable {
    var ok: Bool
    var what: String
}

/// One keep-alive HTTP/1.1 connection reading Content-Length answers one by one (used by one
/// thread at a time; handed between a test and its Dispatch thread).
final class RawConnection: @unchecked Sendable {
    let fd: Int32
    var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = try Sockets.connect(.tcp(host: "127.0.0.1", port: UInt16(port)))
        // Generous: under the whole suite, other tests' training can hold the cooperative pool
        // that Hummingbird's router answers on for minutes.
        Sockets.setTimeout(fd, option: SO_RCVTIMEO, seconds: Self.timeoutSeconds)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    static let timeoutSeconds = 300.0

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Sockets.writeAll(fd, $0) }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { Sockets.readSome(fd, $0) }
        guard n > 0 else {
            throw HTTPClientError(description: n == 0 ? "the server closed the connection (\(buffer.count) bytes unread)"
                                                      : "no answer within \(Self.timeoutSeconds) s (errno \(errno), \(buffer.count) bytes unread)")
        }
        buffer += chunk[0..<n]
    }

    func readReply() throws -> HTTPReply {
        var split: Int?
        while split == nil {
            split = buffer.indices.first { i in i + 3 < buffer.count && buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 }
            if split == nil { try fill() }
        }
        let lines = String(decoding: buffer[..<split!], as: UTF8.self).components(separatedBy: "\r\n")
        var headers: [String: String] = [:]
        for l in lines.dropFirst() {
            if let c = l.firstIndex(of: ":") { headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces) }
        }
        let length = Int(headers["content-length"] ?? "") ?? 0
        while buffer.count < split! + 4 + length { try fill() }
        let body = Array(buffer[(split! + 4)..<(split! + 4 + length)])
        buffer.removeFirst(split! + 4 + length)
        return HTTPReply(status: Int(lines[0].split(separator: " ")[1]) ?? 0, headers: headers, body: body)
    }

    /// True when the server closed the connection (and sent nothing more).
    func atEnd() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16)
        return buffer.isEmpty && chunk.withUnsafeMutableBytes { Sockets.readSome(fd, $0) } == 0
    }
}
