import CreditDomain
import CreditModels
import Foundation
import CreditTestSupport
import Testing

func trainSynthetic(rows: Int = 3000, seed: UInt64 = 42, rule: ThresholdRule = .minPrecision(0.6),
                    balance: Balancing = .none) throws -> TrainingOutcome {
    var o = TrainingOptions()
    o.algorithm = "logistic"
    o.seed = seed
    o.threshold = rule
    o.balance = balance
    o.validationFraction = 0.2
    return try Trainer.train(raw: Synthetic.table(rows: rows, seed: 99), spec: Synthetic.spec, options: o)
}

func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("credit-models-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

@Suite struct ArtifactTests {
    @Test func roundTripScoresBitIdenticallyAndIdIsStable() throws {
        let a = try trainSynthetic()
        let b = try trainSynthetic()
        #expect(a.modelID == b.modelID)                    // identical training → identical id
        #expect(try trainSynthetic(seed: 43).modelID != a.modelID)
        let path = temporaryPath("roundtrip.credit")
        let written = try a.artifact.write(to: path)
        #expect(written == a.modelID)
        let loaded = try ScoringModel(path: path)
        #expect(loaded.modelID == a.modelID)
        #expect(loaded.artifact.metrics.validation == a.validation)
        let original = try ScoringModel(artifact: a.artifact, modelID: a.modelID)
        let applicants = Synthetic.table(rows: 500, seed: 7)
        let s1 = try original.score(applicants), s2 = try loaded.score(applicants)
        #expect(s1.count == 500)
        for (x, y) in zip(s1, s2) {
            #expect(x.score!.probability.bitPattern == y.score!.probability.bitPattern)
            #expect(x.score!.reasons == y.score!.reasons)
        }
        // Artifact contents.
        let art = loaded.artifact
        #expect(art.formatVersion == ModelArtifact.currentFormatVersion)
        #expect(art.threshold.mode == "min_precision")
        #expect(art.training.dataFingerprint.count == 64)
        #expect(art.schema.map(\.name) == ["loan_id"] + Synthetic.spec.features.map(\.name))
        #expect(art.spec == Synthetic.spec)
    }

    @Test func damagedNewerAndForeignFilesAreRefused() throws {
        let a = try trainSynthetic(rows: 1500)
        var (data, _) = try a.artifact.fileData()
        // Damage one byte of the body.
        let i = data.count - 100
        data[i] = data[i] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
        #expect { try ModelArtifact.decode(data) } throws: { ($0 as? ArtifactError)?.description.contains("damaged") == true }
        // A newer format version.
        var newer = a.artifact
        newer.formatVersion = ModelArtifact.currentFormatVersion + 1
        let (newerData, _) = try newer.fileData()
        #expect { try ModelArtifact.decode(newerData) } throws: {
            ($0 as? ArtifactError)?.description.contains("newer than this build reads") == true
        }
        #expect { try ModelArtifact.decode(Data("hello".utf8)) } throws: {
            ($0 as? ArtifactError)?.description.contains("not a credit model") == true
        }
        let truncated = try a.artifact.fileData().data.prefix(12)
        #expect(throws: ArtifactError.self) { try ModelArtifact.decode(Data(truncated)) }
        // A consistent file whose algorithm this build lacks names the algorithm.
        let body = String(decoding: try a.artifact.body(), as: UTF8.self)
            .replacingOccurrences(of: "\"algorithm\":\"logistic\"", with: "\"algorithm\":\"quantum\"")
        let foreign = Data("CREDIT 1\n\(ModelArtifact.modelID(body: Data(body.utf8)))\n\(body)".utf8)
        #expect { try ModelArtifact.decode(foreign) } throws: {
            ($0 as? ArtifactError)?.description.contains("'quantum' is not available in this build") == true
        }
        #expect { try ModelArtifact.load(path: "/nonexistent/model.credit") } throws: {
            ($0 as? ArtifactError)?.description.contains("cannot read model file") == true
        }
    }
}

@Suite struct ScoringTests {
    @Test func everyRowGetsAScoreOrAnErrorInInputOrder() throws {
        let a = try trainSynthetic(rows: 2000)
        let model = try ScoringModel(artifact: a.artifact, modelID: a.modelID)
        var t = Synthetic.table(rows: 8, seed: 3)
        // Row 1: unseen category; row 2: all features missing; row 3: +inf; row 4: NaN;
        // row 5: negative income (range action drop → error); row 6: -inf; row 7: missing id.
        var home = t.column(named: "person_home_ownership")!.categoricalValues!
        home[1] = "Houseboat"
        t.replace(.categorical("person_home_ownership", home))
        for f in Synthetic.spec.features {
            let c = t.column(named: f.name)!
            switch c.values {
            case .numeric(var v):
                v[2] = nil
                if f.name == "loan_amnt" { v[3] = .infinity; v[4] = .nan; v[6] = -.infinity }
                if f.name == "person_income" { v[5] = -10 }
                t.replace(.numeric(f.name, v))
            case .categorical(var v):
                v[2] = nil
                t.replace(.categorical(f.name, v))
            }
        }
        var ids = t.column(named: "loan_id")!.categoricalValues!
        ids[7] = nil
        t.replace(.categorical("loan_id", ids))
        let results = try model.score(t, reasonsForApproved: true)
        #expect(results.count == 8)
        #expect(results.map(\.row) == Array(0..<8))
        #expect(results[0].id == "L000000")
        for r in [0, 1, 2, 4] {
            let s = try #require(results[r].score, "row \(r) should be scored: \(String(describing: results[r].error))")
            #expect(s.probability > 0 && s.probability < 1)
            #expect(s.reasons.count <= 4)
            #expect(zip(s.reasons, s.reasons.dropFirst()).allSatisfy { $0.contribution >= $1.contribution })
            #expect(s.reasons.allSatisfy { $0.contribution > 0 })
        }
        #expect(results[3].error?.field == "loan_amnt")
        #expect(results[3].error?.reason.contains("finite") == true)
        #expect(results[5].error?.field == "person_income")
        #expect(results[6].error?.field == "loan_amnt")
        #expect(results[7].error != nil)
        // The all-missing row has "missing" reasons among its codes, worded from the labels.
        #expect(results[2].score!.reasons.contains { $0.text.hasSuffix("is missing") })
    }

    @Test func reasonCodesUseSpecWordingAndSumToTheLogit() throws {
        let a = try trainSynthetic(rows: 3000)
        let model = try ScoringModel(artifact: a.artifact, modelID: a.modelID)
        let table = Synthetic.table(rows: 400, seed: 8)
        let results = try model.score(table)
        let texts = Set(results.flatMap { $0.score?.reasons.map(\.text) ?? [] })
        #expect(texts.contains("loan amount is high relative to income"))
        #expect(texts.contains("loan grade is D") || texts.contains("loan grade is C"))
        // A categorical reason names the applicant's own category, never one sentence for all
        // categories (the spec's reason_high of prior default must not be said of "N").
        let grades = try #require(table.column(named: "loan_grade")?.categoricalValues)
        let priors = try #require(table.column(named: "cb_person_default_on_file")?.categoricalValues)
        var checked = 0
        for r in results {
            for reason in r.score?.reasons ?? [] {
                if reason.feature == "loan_grade", let g = grades[r.row], ["A", "B", "C", "D", "E", "F", "G"].contains(g) {
                    #expect(reason.text == "loan grade is \(g)")
                    checked += 1
                }
                if reason.feature == "cb_person_default_on_file", let p = priors[r.row], ["Y", "N"].contains(p) {
                    #expect(reason.text == "prior default is \(p)")
                    checked += 1
                }
            }
        }
        #expect(checked > 0)
        #expect(results.allSatisfy { $0.score != nil })
        // Refusals follow the threshold.
        #expect(results.allSatisfy { $0.score!.refuse == ($0.score!.probability >= model.threshold) })
        // The high-risk applicants' reasons name the strongest positive factors first.
        let top = results.max { $0.score!.probability < $1.score!.probability }!.score!
        #expect(!top.reasons.isEmpty && top.reasons.count <= 4)
    }

    @Test func columnarSessionMatchesTablePath() throws {
        let a = try trainSynthetic(rows: 2000)
        let model = try ScoringModel(artifact: a.artifact, modelID: a.modelID)
        var t = Synthetic.table(rows: 64, seed: 12)
        var amnt = t.column(named: "loan_amnt")!.numericValues!
        amnt[5] = .infinity
        t.replace(.numeric("loan_amnt", amnt))
        let expected = try model.score(t)
        let session = model.makeSession(maxRows: 64)
        let num = model.plan.numericFeatures.map { n in t.column(named: n)!.numericValues!.map { $0 ?? .nan } }
        let cat = model.plan.categoricalFeatures.map { t.column(named: $0)!.categoricalValues! }
        let errors = num.withUnsafeBufferPointers { session.score(numeric: $0, categorical: cat, rows: 64) }
        #expect(errors == 1)
        for r in 0..<64 {
            if let s = expected[r].score {
                #expect(session.probability(r).bitPattern == s.probability.bitPattern)
                #expect(session.refuse(r) == s.refuse)
                #expect(session.reasons(r) == s.reasons)
            } else {
                #expect(session.error(r)?.field == "loan_amnt")
                #expect(session.probability(r).isNaN)
            }
        }
    }

    @Test func balancingAndCostThresholdTrain() throws {
        let w = try trainSynthetic(rows: 2000, rule: .cost(missedDefault: 5, refusedGood: 1), balance: .balancedWeights)
        #expect(w.artifact.threshold.mode == "cost")
        #expect(w.artifact.training.balance == "weights")
        #expect(w.validation.rocAUC > 0.7)
        let u = try trainSynthetic(rows: 2000, balance: .undersample)
        #expect(u.artifact.training.balance == "undersample")
        #expect(u.test!.rows == w.test!.rows)   // balancing never touches validation/test rows
    }

    @Test func categoryCodePathMatchesStringPath() throws {
        let a = try trainSynthetic(rows: 2000)
        let model = try ScoringModel(artifact: a.artifact, modelID: a.modelID)
        var t = Synthetic.table(rows: 40, seed: 13)
        var home = t.column(named: "person_home_ownership")!.categoricalValues!
        home[0] = "MORTGAGE"; home[1] = "Houseboat"; home[2] = nil   // case variant, unknown, missing
        t.replace(.categorical("person_home_ownership", home))
        let num = model.plan.numericFeatures.map { n in t.column(named: n)!.numericValues!.map { $0 ?? .nan } }
        let cat = model.plan.categoricalFeatures.map { t.column(named: $0)!.categoricalValues! }
        // Codes as a server computes them: the model's code of the value's schema category.
        let codes: [[Int32]] = model.plan.categoricalFeatures.enumerated().map { k, name in
            let f = model.inputFields.firstIndex { $0.name == name }!
            let list = model.inputFields[f].categories!
            return cat[k].map { v in v.map { s in list.firstIndex(of: s).map { model.categoryCodes[f][$0] } ?? -2 } ?? -1 }
        }
        #expect(codes[0][0] == -2 && codes[0][1] == -2 && codes[0][2] == -1)
        let bySession = model.makeSession(maxRows: 40), byCodes = model.makeSession(maxRows: 40)
        _ = num.withUnsafeBufferPointers { bySession.score(numeric: $0, categorical: cat, rows: 40) }
        _ = num.withUnsafeBufferPointers { n in
            codes.withUnsafeBufferPointers { c in
                byCodes.score(numeric: n, categoryCodes: c, rows: 40) { k, row in cat[k][row] }
            }
        }
        for r in 0..<40 {
            #expect(byCodes.probability(r).bitPattern == bySession.probability(r).bitPattern)
            #expect(byCodes.reasons(r) == bySession.reasons(r))
            let expected = byCodes.reasons(r)
            var streamed: [(String, String)] = []
            byCodes.forEachReason(r) { f, text, c in
                #expect(c > 0)
                streamed.append((model.inputFields[f].name, text))
            }
            #expect(streamed.map(\.0) == expected.map(\.feature))
            #expect(streamed.map(\.1) == expected.map(\.text))
        }
        // Without the text, an unlisted value counts as the cleaner's "unknown" ("Houseboat" is one).
        let noText = model.makeSession(maxRows: 40)
        _ = num.withUnsafeBufferPointers { n in codes.withUnsafeBufferPointers { c in noText.score(numeric: n, categoryCodes: c, rows: 40) } }
        #expect(noText.probability(1) == bySession.probability(1))
        #expect(noText.reasons(1) == bySession.reasons(1))
        // "MORTGAGE" is cleaned to "Mortgage": same score as the canonical spelling.
        var canon = t
        home[0] = "Mortgage"
        canon.replace(.categorical("person_home_ownership", home))
        #expect(try model.score(canon)[0].score!.probability == bySession.probability(0))
    }
}

/// A Reload path is checked before it is read: kind, size, magic.
@Suite struct ArtifactPathTests {
    @Test func wrongKindsOfFileAreRefusedBeforeReading() throws {
        let dir = NSTemporaryDirectory() + "credit-artifact-paths-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func message(_ path: String) -> String {
            do { _ = try ModelArtifact.load(path: path); return "loaded" } catch { return "\(error)" }
        }
        #expect(mkfifo("\(dir)/fifo", 0o600) == 0)
        #expect(message("\(dir)/fifo").hasSuffix("is a FIFO, not a regular file"))
        #expect(message(dir).hasSuffix("is a directory, not a regular file"))
        #expect(message("\(dir)/missing").contains("No such file"))
        _ = FileManager.default.createFile(atPath: "\(dir)/text", contents: Data("hello\n".utf8))
        #expect(message("\(dir)/text").contains("is not a credit model"))
        // Over the size cap: refused from its size alone (a sparse file, nothing is read).
        let big = "\(dir)/big.credit"
        _ = FileManager.default.createFile(atPath: big, contents: Data("CREDIT 1\n".utf8))
        #expect(truncate(big, off_t(ModelArtifact.maxFileBytes + 1)) == 0)
        #expect(message(big).contains("the limit is 256 MiB"))
    }
}
