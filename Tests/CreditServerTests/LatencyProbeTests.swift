import CreditCore
import CreditNet
import CreditService
import CreditDomain
import CreditServer
import CreditWire
import CreditModelServing
import CreditModels
import Foundation
import CreditTestSupport
import Testing

/// Sequential one-applicant round trips over the Unix socket. Asserts every answer; prints
/// the latency distribution (the figures in docs/creditd.md come from running this with
/// `swift test -c release --filter LatencyProbe`). Not a timed test: no latency assertion.
@Suite(.serialized) struct LatencyProbeTests {
    @Test func oneApplicantRoundTrips() throws {
        let dir = TempDir()
        let d = try startDaemon(dir, tcp: true)
        defer { d.stop() }
        for (name, address, decode) in [("unix", d.unixAddress, true), ("unix, raw frames", d.unixAddress, false), ("tcp", d.tcpAddress, true)] {
            let c = try WireTestClient(address)
            let frame = Request(id: 1, .score(.row(oneApplicant))).framed()
            // The answer never changes for the same request: check it once, then compare bytes.
            let reference = try c.call(Request(id: 1, .score(.row(oneApplicant))))
            try #require(reference.score?.probability == [oneApplicantProbability])
            try c.sendRaw(frame)
            let referenceBytes = try c.receiveFrame()
            var micros = [Double]()
            let n = 20_000
            micros.reserveCapacity(n)
            var wrong = 0
            for i in 0..<(n + 2_000) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try c.sendRaw(frame)
                if decode {
                    let r = try c.receive()
                    if r.score?.probability != [oneApplicantProbability] { wrong += 1 }
                } else {
                    if try c.receiveFrame() != referenceBytes { wrong += 1 }
                }
                let t1 = DispatchTime.now().uptimeNanoseconds
                if i >= 2_000 { micros.append(Double(t1 - t0) / 1000) }   // after warm-up
            }
            #expect(wrong == 0)
            micros.sort()
            func p(_ q: Double) -> String { String(format: "%.1f", micros[min(Int(q * Double(n)), n - 1)]) }
            print("latency \(name) one applicant (row form\(decode ? ", client decodes" : "")): n=\(n) p50=\(p(0.5)) us p90=\(p(0.9)) us p99=\(p(0.99)) us max=\(p(1))")
        }
        let stats = try #require(try WireTestClient(d.unixAddress).call(Request(id: 2, .stats)).stats)
        print("test backend, daemon-side (frame read -> response encoded): p50=\(stats.latency.p50Micros) us p99=\(stats.latency.p99Micros) us")
        #expect(stats.rowsScored == 3 * 22_002)
    }

    /// The same with real artifacts (logistic regression and GBDT trained on the synthetic
    /// loan book): one applicant with all 11 fields in the row form, reasons included.
    @Test(arguments: ["logistic", "gbdt"]) func oneApplicantRoundTripsRealModel(algorithm: String) throws {
        let dir = TempDir()
        let (path, model) = try RealModelTests.trainArtifact(in: dir, seed: 42, name: "probe", algorithm: algorithm)
        let d = try buildDaemon(config: DaemonConfig(modelPath: path, listen: [.unix(path: dir.socket)]),
                                loader: ScoringModelBackend.loader, logger: testLogger)
        defer { d.stop() }
        let t = Synthetic.table(rows: 1, seed: 5)
        let expected = try #require(try model.score(t)[0].score)
        var fields: [(field: String, value: ApplicantRow.Value)] = []
        for f in model.inputFields {
            switch t.column(named: f.name)!.values {
            case .numeric(let v): fields.append((f.name, .number(v[0] ?? .nan)))
            case .categorical(let v): if let x = v[0] { fields.append((f.name, .text(x))) }
            }
        }
        let frame = Request(id: 1, .score(.row(ApplicantRow(id: "probe", fields: fields)))).framed()
        let c = try WireTestClient(d.unixAddress)
        let n = algorithm == "logistic" ? 20_000 : 5_000
        var micros = [Double]()
        micros.reserveCapacity(n)
        var wrong = 0
        for i in 0..<(n + 1_000) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try c.sendRaw(frame)
            let r = try c.receive()
            let t1 = DispatchTime.now().uptimeNanoseconds
            if r.score?.probability != [expected.probability] || r.score?.reasons.first?.count != expected.reasons.count { wrong += 1 }
            if i >= 1_000 { micros.append(Double(t1 - t0) / 1000) }
        }
        #expect(wrong == 0)
        micros.sort()
        func p(_ q: Double) -> String { String(format: "%.1f", micros[min(Int(q * Double(n)), n - 1)]) }
        let trees = (model.artifact.model.model as? GBDTModel).map { ", \($0.treeCount) trees" } ?? ""
        print("latency unix one applicant, real \(algorithm) artifact\(trees) (row form, 11 fields, client decodes, \(expected.reasons.count) reasons): n=\(n) p50=\(p(0.5)) us p90=\(p(0.9)) us p99=\(p(0.99)) us")
        let stats = try #require(try c.call(Request(id: 2, .stats)).stats)
        print("real model, daemon-side (frame read -> response encoded): p50=\(stats.latency.p50Micros) us p99=\(stats.latency.p99Micros) us")
    }
}
