import CreditDomain
import CreditNet
import CreditTestSupport
import CreditWire
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM to the real creditd under HTTP + protobuf load: every request that was answered
/// was answered right (status 200/OK), none half-written, and the process exits 0.
@Suite(.serialized) struct MixedLoadStopTests {
    @Test func sigtermUnderMixedLoadStopsCleanly() async throws {
        let faces = try await Faces()   // for a trained model file only
        let model = "\(faces.dir)/m.credit"
        await faces.http.stop()
        faces.daemon.stop()
        let socket = "\(faces.dir)/stop.sock"
        let daemon = try RealCreditd(model: model, extra: ["--listen", "unix:\(socket)"])
        let p = daemon.process, port = daemon.port
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var ok = 0, bad: [String] = []
        }
        let tally = Tally()
        let body = Array(#"{"loan_amnt": 9000, "person_income": 52000}"#.utf8)
        let http = Thread {
            while true {
                guard let r = try? HTTP.blockingRequest(port: Int(port), "POST", "/v1/score", body: body, headers: ["Content-Type": "application/json"]) else { return }
                tally.lock.withLock { if r.status == 200 && r.probabilities.first != nil { tally.ok += 1 } else { tally.bad.append("http \(r.status)") } }
            }
        }
        let wire = Thread {
            guard let c = try? WireTestClient(.unix(path: socket)) else { return }
            var id: UInt64 = 0
            while true {
                id += 1
                guard let r = try? c.call(Request(id: id, .score(.row(ApplicantRow(id: "s", fields: [("loan_amnt", .number(9000))]))))) else { return }
                tally.lock.withLock { if r.status.code == .ok { tally.ok += 1 } else if r.status.code != .unavailable { tally.bad.append("wire \(r.status)") } }
            }
        }
        http.start(); wire.start()
        try await Task.sleep(for: .milliseconds(800))
        kill(p.processIdentifier, SIGTERM)
        let exit = try await offPool { () -> Int32 in p.waitUntilExit(); return p.terminationStatus }
        while !http.isFinished || !wire.isFinished { try await Task.sleep(for: .milliseconds(10)) }
        #expect(exit == 0)
        #expect(tally.ok > 100, "\(tally.ok) answers")
        #expect(tally.bad.isEmpty, "\(tally.bad.prefix(5))")
        #expect(!FileManager.default.fileExists(atPath: socket))
        try? FileManager.default.removeItem(atPath: faces.dir)
        print("MixedLoadStopTests: \(tally.ok) answers under HTTP + protobuf load, SIGTERM, exit \(exit), \(tally.bad.count) bad")
    }
}
