import CreditNet
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The score fast path (Sources/CreditHTTP/ScoreFastPath.swift) answers `/v1/score` on the
/// event loop and hands everything else to Hummingbird. On one keep-alive connection:
/// pipelined requests of both kinds come back in order, a request split into single bytes
/// gets the same answer as one sent whole, an oversized body is refused and the connection
/// goes on, `Connection: close` closes, and the face counts its connections.
@Suite(.serialized) struct ScoreFastPathTests {
    static let body = Array(#"{"id": "split", "loan_amnt": 9000, "person_income": 52000}"#.utf8)

    static func post(_ body: [UInt8], extra: String = "") -> [UInt8] {
        Array("POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\(extra)\r\n".utf8) + body
    }

    @Test func pipelinedSplitOversizedAndClosingRequests() async throws {
        let faces = try await Faces()
        let port = faces.port
        let whole = try await HTTP.request(port: port, "POST", "/v1/score", body: Self.body, headers: ["Content-Type": "application/json"])
        #expect(whole.status == 200 && whole.text.contains("probability_default"), "\(whole.text)")

        // Checks run on a Dispatch thread (a blocking socket must not hold the cooperative
        // pool) and are asserted here, inside the test.
        let checks = try await offPool { () throws -> [Check] in
            var checks: [Check] = []
            func expect(_ ok: Bool, _ what: String) { checks.append(Check(ok: ok, what: what)) }
            let c = try RawConnection(port: port)
            // Pipelined: routed, fast, fast (GET), routed; one write, answers in order.
            c.send(Array("GET /v1/model HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + Self.post(Self.body)
                   + Array("GET /v1/score?id=split&loan_amnt=9000&person_income=52000 HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let model = try c.readReply(), posted = try c.readReply(), queried = try c.readReply(), health = try c.readReply()
            expect(model.status == 200 && model.text.contains("\"algorithm\""), "\(model.text.prefix(120))")
            expect(posted.status == 200 && posted.body == whole.body, "\(posted.text)")
            expect(queried.status == 200 && queried.probabilities == whole.probabilities, "\(queried.text)")
            expect(health.status == 200 && health.text.contains("live"), "\(health.text)")

            // Split input: every byte of the request in its own write.
            for byte in Self.post(Self.body) {
                c.send([byte])
                usleep(200)
            }
            let split = try c.readReply()
            expect(split.status == 200 && split.body == whole.body, "\(split.text)")

            // Oversized body: 413, then the same connection answers a good request.
            c.send(Self.post([UInt8](repeating: 0x20, count: (4 << 20) + 1)))
            let big = try c.readReply()
            expect(big.status == 413 && big.text.contains("body over"), "\(big.text)")
            c.send(Array("POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}".utf8))
            let plain = try c.readReply()
            expect(plain.status == 415, "text/plain: \(plain.status) \(plain.text)")
            c.send(Self.post(Self.body))
            let again = try c.readReply()
            expect(again.body == whole.body, "after 413 and 415: \(again.text)")

            // Connection: close is honoured on the fast path.
            c.send(Self.post(Self.body, extra: "Connection: close\r\n"))
            let last = try c.readReply()
            expect(last.status == 200 && last.headers["connection"] == "close", "close: \(last.status) \(last.headers)")
            expect(c.atEnd(), "the face kept the connection open after Connection: close")
            return checks
        }
        for check in checks { #expect(check.ok, "\(check.what)") }
        let metrics = try await HTTP.request(port: port, "GET", "/metrics").text
        let accepted = metrics.split(separator: "\n").first { $0.hasPrefix(#"credit_connections_total{face="http"}"#) }
        #expect(Int(accepted?.split(separator: " ").last ?? "") ?? 0 >= 3, "\(accepted ?? "no credit_connections_total for http")")
        await faces.stop()
    }
}

struct Check: Sendable {
    var ok: Bool
    var what: String
}

/// One keep-alive HTTP/1.1 connection reading Content-Length answers one by one.
final class RawConnection {
    let fd: Int32
    var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = try Sockets.connect(.tcp(host: "127.0.0.1", port: UInt16(port)))
        Sockets.setTimeout(fd, option: SO_RCVTIMEO, seconds: 60)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Sockets.writeAll(fd, $0) }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { Sockets.readSome(fd, $0) }
        guard n > 0 else { throw HTTPClientError(description: "connection ended with \(buffer.count) bytes unread") }
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
