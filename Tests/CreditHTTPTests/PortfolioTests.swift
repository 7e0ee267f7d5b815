import CreditDomain
import CreditModels
import CreditService
import CreditTestSupport
import Foundation
import Testing

/// The portfolio (tallies of what every face scored, drift as PSI) and the model report
/// over HTTP, on a real trained model.
@Suite(.serialized) struct PortfolioTests {
    /// Columnar JSON of `table`'s rows (missing as null).
    static func columns(_ table: DataTable, fields: [RawField]) -> [String: Any] {
        var cols: [String: Any] = [:]
        for f in fields {
            switch table.column(named: f.name)!.values {
            case .numeric(let v): cols[f.name] = v.map { $0.map { $0 as Any } ?? NSNull() }
            case .categorical(let v): cols[f.name] = v.map { $0.map { $0 as Any } ?? NSNull() }
            }
        }
        return ["columns": cols, "ids": (0..<table.rowCount).map { table.column(named: "loan_id")!.text(row: $0) }]
    }

    @Test func talliesFollowWhatWasScoredAndPSISeesAShift() async throws {
        let faces = try await Faces()
        let fields = faces.model.inputFields
        // Nothing scored yet: an empty portfolio for the loaded model.
        let empty = try #require(try await HTTP.request(port: faces.port, "GET", "/v1/portfolio").json as? [String: Any])
        #expect(empty["scored"] as? Int == 0 && (empty["features"] as? [Any])?.isEmpty == true)

        // 1,000 applicants like the training book, in two requests.
        let book = Synthetic.table(rows: 1000, seed: 4242)
        var scored = 0, refused = 0, errors = 0, reasons: [String: Int] = [:]
        for part in [0..<600, 600..<1000] {
            let t = book.selecting(rows: Array(part))
            let reply = try await HTTP.post(port: faces.port, "/v1/score", json: Self.columns(t, fields: fields))
            #expect(reply.status == 200)
            for r in try #require((reply.json as? [String: Any])?["results"] as? [[String: Any]]) {
                if r["error"] != nil { errors += 1; continue }
                scored += 1
                if r["decision"] as? String == "refuse" { refused += 1 }
                for x in r["reasons"] as? [[String: Any]] ?? [] { reasons[x["feature"] as! String, default: 0] += 1 }
            }
        }
        let p = try #require(try await HTTP.request(port: faces.port, "GET", "/v1/portfolio").json as? [String: Any])
        #expect(p["scored"] as? Int == scored && p["refused"] as? Int == refused && p["errors"] as? Int == errors)
        #expect(scored > 900)
        #expect(abs((p["approval_rate"] as? Double ?? -1) - Double(scored - refused) / Double(scored)) < 1e-12)
        #expect((p["score_counts"] as? [Int])?.reduce(0, +) == scored)
        let tallied = Dictionary(uniqueKeysWithValues: (p["reasons"] as? [[String: Any]] ?? []).map { ($0["feature"] as! String, $0["count"] as! Int) })
        #expect(tallied == reasons)
        let features = try #require(p["features"] as? [[String: Any]])
        #expect(features.map { $0["name"] as? String } == fields.map(\.name))
        for f in features {
            let bins = f["bins"] as! [[String: Any]]
            #expect(bins.reduce(0) { $0 + ($1["count"] as! Int) } == scored, "\(f["name"]!)")
            // Same population as training: stable.
            #expect((f["psi"] as? Double ?? 9) < 0.1, "\(f["name"]!): \(f["psi"] ?? "nil")")
            #expect(f["band"] as? String == "stable")
        }

        // Incomes tripled: that feature drifts past 0.25, and /metrics says so.
        var shifted = Synthetic.table(rows: 1000, seed: 77)
        shifted.replace(.numeric("person_income", shifted.column(named: "person_income")!.numericValues!.map { $0.map { $0 * 3 } }))
        _ = try await HTTP.post(port: faces.port, "/v1/score", json: Self.columns(shifted, fields: fields))
        let q = try #require(try await HTTP.request(port: faces.port, "GET", "/v1/portfolio").json as? [String: Any])
        let income = try #require((q["features"] as? [[String: Any]])?.first { $0["name"] as? String == "person_income" })
        let psi = try #require(income["psi"] as? Double)
        #expect(psi > 0.1, "\(psi)")
        let metrics = try await HTTP.request(port: faces.port, "GET", "/metrics").text
        let line = try #require(metrics.split(separator: "\n").first { $0.hasPrefix("credit_feature_psi{feature=\"person_income\"}") })
        #expect(abs(Double(line.split(separator: " ").last!)! - psi) < 1e-9, "\(line)")

        // A reload of another model starts the tallies again.
        var o = TrainingOptions()
        o.algorithm = "logistic"
        let other = try Trainer.train(raw: Synthetic.table(rows: 1500, seed: 3), spec: Synthetic.spec, options: o)
        let path = "\(faces.dir)/other.credit"
        try other.fileData.write(to: URL(fileURLWithPath: path))
        try faces.service.load(path: path, trigger: "test")
        let after = try #require(try await HTTP.request(port: faces.port, "GET", "/v1/portfolio").json as? [String: Any])
        #expect(after["scored"] as? Int == 0 && after["model_id"] as? String == other.modelID)
        _ = try await HTTP.post(port: faces.port, "/v1/score", json: Self.columns(book.selecting(rows: Array(0..<10)), fields: fields))
        let again = try #require(try await HTTP.request(port: faces.port, "GET", "/v1/portfolio").json as? [String: Any])
        #expect((again["scored"] as? Int ?? 0) + (again["errors"] as? Int ?? 0) == 10)
        await faces.stop()
    }

    /// The same applicants tallied as one batch and one request at a time (the tally's two
    /// merge paths: every slot, and only the slots it touched) give the same portfolio.
    @Test func oneBatchAndOneByOneTallyAlike() async throws {
        let faces = try await Faces()
        let fields = faces.model.inputFields
        let book = Synthetic.table(rows: 200, seed: 515)
        func portfolio() async throws -> [String: Any] {
            var p = try #require(try await HTTP.request(port: faces.port, "GET", "/v1/portfolio").json as? [String: Any])
            p["since"] = nil
            return p
        }
        _ = try await HTTP.post(port: faces.port, "/v1/score", json: Self.columns(book, fields: fields))
        let batch = try await portfolio()
        #expect(batch["scored"] as? Int ?? 0 > 150)
        try faces.service.load(path: "\(faces.dir)/m.credit", trigger: "test")   // the tallies start again
        for r in 0..<book.rowCount {
            _ = try await HTTP.post(port: faces.port, "/v1/score", json: Self.columns(book.selecting(rows: [r]), fields: fields))
        }
        let single = try await portfolio()
        #expect(NSDictionary(dictionary: batch).isEqual(to: single), "\(batch)\n\(single)")
        await faces.stop()
    }

    @Test func reportIsServedFromTheArtifact() async throws {
        let faces = try await Faces()
        let reply = try await HTTP.request(port: faces.port, "GET", "/v1/model/report")
        #expect(reply.status == 200)
        let doc = try #require(reply.json as? [String: Any])
        let stored = try #require(faces.model.artifact.report)
        #expect(doc["model_id"] as? String == faces.model.modelID)
        let report = try #require(doc["report"] as? [String: Any])
        #expect((report["roc"] as? [Any])?.count == stored.roc.count)
        #expect((report["tradeoff"] as? [Any])?.count == stored.tradeoff.count)
        #expect(report["threshold"] as? Double == faces.model.threshold)
        #expect((doc["training"] as? [String: Any])?["data_fingerprint"] as? String == faces.model.artifact.training.dataFingerprint)
        // Exactly the document the artifact gives (one encoder).
        let expected = try ModelReportDocument(artifact: faces.model.artifact, modelID: faces.model.modelID)!.json()
        #expect(reply.body == [UInt8](expected))
        await faces.stop()
    }
}
