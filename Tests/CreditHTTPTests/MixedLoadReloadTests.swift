import CreditDomain
import CreditHTTP
import CreditModels
import CreditModelServing
import CreditServer
import CreditService
import CreditTestSupport
import CreditWire
import Foundation
import Logging
import Testing

/// Reloads swap every face at once: under mixed HTTP and protobuf load, while the model is
/// swapped back and forth 20 times, every answer names one model and carries exactly that
/// model's in-process probability (none answered by a mix), and nothing sent is lost.
@Suite(.serialized) struct MixedLoadReloadTests {
    @Test func reloadUnderMixedLoadNeverMixesModels() async throws {
        let faces = try await Faces()
        let second = "\(faces.dir)/second.credit"
        var o = TrainingOptions()
        o.algorithm = "logistic"
        o.seed = 9
        o.validationFraction = 0.2   // one fit: this test is about serving
        let options = o
        let outcome = try await offPool { try Trainer.train(raw: Synthetic.table(rows: 2000, seed: 3), spec: Synthetic.spec, options: options) }
        try outcome.fileData.write(to: URL(fileURLWithPath: second))
        let models = [faces.model.modelID: faces.model, outcome.modelID: try ScoringModel(path: second)]
        let first = "\(faces.dir)/m.credit"
        let table = Synthetic.table(rows: 1, seed: 77, missingRate: 0)
        var expected: [String: UInt64] = [:]
        for (id, m) in models { expected[id] = try m.score(table)[0].score!.probability.bitPattern }
        var applicant: [String: Any] = [:]
        var row = ApplicantRow(id: "mixed", fields: [])
        for f in faces.model.inputFields {
            let c = table.column(named: f.name)!
            switch c.values {
            case .numeric(let v): applicant[f.name] = v[0]!; row.fields.append((f.name, .number(v[0]!)))
            case .categorical(let v): applicant[f.name] = v[0]!; row.fields.append((f.name, .text(v[0]!)))
            }
        }
        let body = Array(try JSONSerialization.data(withJSONObject: applicant))
        let wanted = expected, oneRow = row
        let port = faces.port, socket = "\(faces.dir)/d.sock", service = faces.service
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var answers = 0, wrong: [String] = [], stop = false
            func add(_ model: String, _ bits: UInt64?, _ expected: [String: UInt64]) {
                lock.withLock {
                    answers += 1
                    if expected[model] == nil || bits != expected[model] { wrong.append("\(model): \(bits.map(String.init) ?? "nil")") }
                }
            }
            var stopped: Bool { lock.withLock { stop } }
        }
        let tally = Tally()
        let http = Thread {
            while !tally.stopped {
                guard let r = try? HTTP.blockingRequest(port: port, "POST", "/v1/score", body: body, headers: ["Content-Type": "application/json"]) else { continue }
                let model = ((r.json as? [String: Any])?["model_id"] as? String) ?? "?"
                tally.add(model, r.probabilities.first.flatMap { $0 }?.bitPattern, wanted)
            }
        }
        let wire = Thread {
            guard let c = try? WireTestClient(.unix(path: socket)) else { return }
            var id: UInt64 = 1
            while !tally.stopped {
                id += 1
                guard let r = try? c.call(Request(id: id, .score(.row(oneRow)))), let s = r.score else { continue }
                tally.add(s.modelId, s.probability.first?.bitPattern, wanted)
            }
        }
        http.start(); wire.start()
        try await offPool {
            for i in 0..<20 {
                try service.load(path: i % 2 == 0 ? second : first, trigger: "test")
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        tally.lock.withLock { tally.stop = true }
        while !http.isFinished || !wire.isFinished { try await Task.sleep(for: .milliseconds(10)) }
        #expect(tally.answers > 100, "\(tally.answers) answers")
        #expect(tally.wrong.isEmpty, "\(tally.wrong.prefix(5))")
        print("MixedLoadReloadTests: \(tally.answers) HTTP + protobuf answers across 20 reloads, \(tally.wrong.count) mixed or wrong")
        await faces.stop()
    }
}
