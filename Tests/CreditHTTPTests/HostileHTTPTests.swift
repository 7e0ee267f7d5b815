import CreditNet
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Malformed HTTP in bulk (CREDIT_HOSTILE_HTTP requests, default 5,000; 100,000 by hand)
/// against the real creditd: bad JSON, wrong content types, deep nesting, bad UTF-8, unknown
/// fields, oversized bodies, header floods, and slowloris connections holding half a request.
/// The daemon stays up, its peak RSS stays under start + 64 MiB (a refused body is held up to
/// the 4 MiB limit, one per connection in flight), a good request afterwards gets the right
/// answer, and /metrics counted the refusals.
@Suite(.serialized) struct HostileHTTPTests {
    @Test func malformedRequestsInBulkLeaveTheFaceCorrect() async throws {
        let faces = try await Faces()   // for a trained model file only
        await faces.http.stop()
        faces.daemon.stop()
        let daemon = try RealCreditd(model: "\(faces.dir)/m.credit")
        defer { daemon.stop() }
        let port = daemon.port
        _ = try await HTTP.post(port: port, "/v1/score", json: ["id": "warm", "loan_amnt": 9000, "person_income": 52000])
        let startRSS = daemon.status("VmRSS")
        let total = Int(ProcessInfo.processInfo.environment["CREDIT_HOSTILE_HTTP"] ?? "") ?? 5000
        // Slowloris: half a request head on 50 connections, left open during the run.
        let slow = try await offPool { () throws -> [Int32] in
            try (0..<50).map { _ in
                let fd = try Sockets.connect(.tcp(host: "127.0.0.1", port: UInt16(port)))
                _ = Array("POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Len".utf8).withUnsafeBytes { Sockets.writeAll(fd, $0) }
                return fd
            }
        }
        let bodies: [([UInt8], String)] = [
            (Array("{\"loan_amnt\": 1".utf8), "application/json"),
            (Array("{\"loan_amnt\": 1}".utf8), "text/plain"),
            (Array((String(repeating: "[", count: 200) + String(repeating: "]", count: 200)).utf8), "application/json"),
            ([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D], "application/json"),
            (Array("{\"no_such\": 1}".utf8), "application/json"),
            (Array("[1, 2, 3]".utf8), "application/json"),
        ]
        let (counts, floodStatus) = try await offPool { () throws -> ([Int: Int], Int?) in
            var counts: [Int: Int] = [:]
            for i in 0..<total {
                let (body, type) = bodies[i % bodies.count]
                let r = try HTTP.blockingRequest(port: port, "POST", "/v1/score", body: body, headers: ["Content-Type": type])
                counts[r.status, default: 0] += 1
            }
            // Oversized bodies and a header flood.
            for _ in 0..<20 {
                let r = try HTTP.blockingRequest(port: port, "POST", "/v1/score", body: [UInt8](repeating: 0x20, count: 5 << 20), headers: ["Content-Type": "application/json"])
                counts[r.status, default: 0] += 1
            }
            var flood: [String: String] = [:]
            for k in 0..<2000 { flood["X-Flood-\(k)"] = String(repeating: "a", count: 64) }
            let floodStatus = (try? HTTP.blockingRequest(port: port, "GET", "/healthz", headers: flood))?.status
            return (counts, floodStatus)
        }
        #expect(counts[200] == nil, "\(counts)")
        #expect(floodStatus == nil || floodStatus! >= 400, "header flood answered \(floodStatus ?? 0)")
        #expect((counts[400] ?? 0) + (counts[415] ?? 0) + (counts[422] ?? 0) == total, "\(counts)")
        #expect(counts[413] == 20, "\(counts)")
        // A good request is answered correctly while the slowloris connections hang on.
        let good = try await HTTP.post(port: port, "/v1/score", json: ["id": "ok", "loan_amnt": 9000, "person_income": 52000])
        #expect(good.status == 200 && good.probabilities.count == 1 && good.probabilities[0] != nil, "\(good.text)")
        let metrics = try await HTTP.request(port: port, "GET", "/metrics").text
        let invalid = metrics.split(separator: "\n").first { $0.hasPrefix(#"credit_requests_total{face="http",method="score",code="INVALID_ARGUMENT"}"#) }
        #expect(Int(invalid?.split(separator: " ").last ?? "") ?? 0 >= total, "\(invalid ?? "none")")
        let peak = daemon.status("VmHWM"), bound = startRSS + 64 * 1024
        #expect(peak < bound, "peak RSS \(peak) KiB over the bound \(bound) KiB (start \(startRSS) KiB)")
        for fd in slow { close(fd) }
        print("HostileHTTPTests: real creditd, \(total + 21) hostile requests, answers by status \(counts.sorted { $0.key < $1.key }), header flood \(floodStatus.map(String.init) ?? "closed"), 50 slowloris connections; a good request afterwards scored; RSS \(startRSS) KiB at start, peak \(peak) KiB (bound \(bound) KiB), \(daemon.status("VmRSS")) KiB after")
        try? FileManager.default.removeItem(atPath: faces.dir)
    }
}
