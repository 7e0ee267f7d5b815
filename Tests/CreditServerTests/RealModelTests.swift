import CreditCore
import CreditNet
import CreditService
import CreditDomain
import CreditData
import CreditModels
import CreditModelServing
import CreditServer
import CreditWire
import Foundation
import CreditTestSupport
import Testing

/// The daemon serving a real `.credit` artifact through `ScoringModelBackend`: answers must
/// equal what `ScoringModel.score(_ table:)` says for the same applicants.
@Suite(.serialized) struct RealModelTests {
    static func trainArtifact(in dir: TempDir, seed: UInt64, name: String, algorithm: String = "logistic") throws -> (path: String, model: ScoringModel) {
        var o = TrainingOptions()
        o.algorithm = algorithm
        o.seed = seed
        o.validationFraction = 0.2   // one fit: these tests are about serving
        let outcome = try Trainer.train(raw: Synthetic.table(rows: 2000, seed: 99), spec: Synthetic.spec, options: o)
        let path = "\(dir.path)/\(name).credit"
        _ = try outcome.artifact.write(to: path)
        return (path, try ScoringModel(path: path))
    }

    /// The table's feature columns as a Score request (nil → NaN / "").
    static func batch(_ t: DataTable, fields: [CreditDomain.SchemaField]) -> ColumnBatch {
        var b = ColumnBatch(ids: t.column(named: "loan_id")!.categoricalValues!.map { $0 ?? "" })
        for f in fields {
            let c = t.column(named: f.name)!
            switch c.values {
            case .numeric(let v): b.numeric.append((f.name, v.map { $0 ?? .nan }))
            case .categorical(let v): b.categorical.append((f.name, v.map { $0 ?? "" }))
            }
        }
        return b
    }

    @Test func daemonAnswersEqualScoringModel() throws {
        let dir = TempDir()
        let (path, model) = try Self.trainArtifact(in: dir, seed: 42, name: "a")
        var config = DaemonConfig(modelPath: path, listen: [.unix(path: dir.socket)])
        config.inlineFrameBytes = 4096    // the 200-applicant batch goes through the worker pool
        let d = try buildDaemon(config: config, loader: ScoringModelBackend.loader, logger: testLogger)
        defer { d.stop() }
        let c = try WireTestClient(d.unixAddress)

        let info = try #require(try c.call(Request(id: 1, .modelInfo)).modelInfo)
        #expect(info.modelId == model.modelID && info.algorithm == "logistic" && info.threshold == model.threshold)
        #expect(info.fields.map(\.name) == model.inputFields.map(\.name))
        #expect(info.metrics.contains { $0.name == "validation_roc_auc" && $0.value > 0.7 })

        var t = Synthetic.table(rows: 200, seed: 7)
        var amnt = t.column(named: "loan_amnt")!.numericValues!
        amnt[5] = .infinity
        t.replace(.numeric("loan_amnt", amnt))
        var home = t.column(named: "person_home_ownership")!.categoricalValues!
        home[3] = "MORTGAGE"; home[4] = "Houseboat"; home[6] = nil
        t.replace(.categorical("person_home_ownership", home))
        var income = t.column(named: "person_income")!.numericValues!
        income[8] = -10
        t.replace(.numeric("person_income", income))
        let expected = try model.score(t)

        let r = try c.call(Request(id: 2, .score(.columns(Self.batch(t, fields: info.fields)))))
        let s = try #require(r.score, "\(r.status)")
        #expect(s.modelId == model.modelID && s.probability.count == 200)
        var errorRows = [Int]()
        for (i, e) in expected.enumerated() {
            if let score = e.score {
                #expect(s.probability[i].bitPattern == score.probability.bitPattern, "applicant \(i)")
                #expect(s.decision[i] == (score.refuse ? .refuse : .approve))
                #expect(s.reasons[i].map(\.feature) == score.reasons.map(\.feature), "applicant \(i)")
                #expect(s.reasons[i].map(\.text) == score.reasons.map(\.text), "applicant \(i)")
            } else {
                errorRows.append(i)
                let got = s.errors.first { $0.row == i }
                #expect(got?.field == e.error?.field, "applicant \(i)")
            }
        }
        #expect(errorRows.contains(5) && s.errors.map(\.row) == errorRows)

        // The row form of applicant 0 gives the same answer.
        var fields: [(field: String, value: ApplicantRow.Value)] = []
        for f in info.fields {
            switch t.column(named: f.name)!.values {
            case .numeric(let v): fields.append((f.name, .number(v[0] ?? .nan)))
            case .categorical(let v): if let x = v[0] { fields.append((f.name, .text(x))) }
            }
        }
        let row = try #require(try c.call(Request(id: 3, .score(.row(ApplicantRow(id: "row0", fields: fields))))).score)
        #expect(row.probability == [s.probability[0]] && row.reasons == [s.reasons[0]])

        // Without reason codes: the same probabilities, decisions and row errors, no reasons
        // (in the worker pool for the batch, inline for the row), then full reasons again.
        let bare = try #require(try c.call(Request(id: 30, reasons: .none, .score(.columns(Self.batch(t, fields: info.fields))))).score)
        #expect(bare.probability.map(\.bitPattern) == s.probability.map(\.bitPattern))
        #expect(bare.decision == s.decision && bare.errors == s.errors && bare.ids == s.ids)
        #expect(bare.reasons.allSatisfy(\.isEmpty) && s.reasons.contains { !$0.isEmpty })
        let bareRow = try #require(try c.call(Request(id: 31, reasons: .none, .score(.row(ApplicantRow(id: "row0", fields: fields))))).score)
        #expect(bareRow.probability == [s.probability[0]] && bareRow.reasons == [[]])
        let again = try #require(try c.call(Request(id: 32, .score(.row(ApplicantRow(id: "row0", fields: fields))))).score)
        #expect(again.reasons == [s.reasons[0]])

        // Reload swaps in another real artifact.
        let (pathB, modelB) = try Self.trainArtifact(in: dir, seed: 7, name: "b")
        try #require(modelB.modelID != model.modelID)
        let reload = try c.call(Request(id: 4, .reload(path: pathB)))
        #expect(reload.status.code == .ok)
        #expect(try c.call(Request(id: 5, .health)).health?.modelId == modelB.modelID)
        // A file that is not an artifact is refused and the model stays.
        let junk = "\(dir.path)/junk.credit"
        try "not a model".write(toFile: junk, atomically: true, encoding: .utf8)
        let bad = try c.call(Request(id: 6, .reload(path: junk)))
        #expect(bad.status.code == .internal && bad.status.message.contains("junk.credit"))
        #expect(try c.call(Request(id: 7, .health)).health?.modelId == modelB.modelID)
    }
}
