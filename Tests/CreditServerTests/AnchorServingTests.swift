import CreditDomain
import CreditModels
import CreditModelServing
import CreditServer
import CreditWire
import Foundation
import CreditTestSupport
import Testing

/// Issue 4 acceptance: a model (see `algorithm`) trained with the anchor protocol on the shared loan book,
/// served by the real daemon over a Unix socket AND TCP, answers the 6,829 anchor-test
/// applicants exactly as `ScoringModel.score(_:)` does in process (probabilities bit for bit,
/// decisions, reason codes, row errors), including rows with NaN, ±infinity and an unseen
/// category. Fails (never skips) when ../shared/data/alura-cash is missing.
@Suite(.serialized) struct AnchorServingTests {
    /// The bank's model: gradient-boosted trees (reasons by path attribution, ~14 s for the
    /// whole test in a debug build; "logistic" works too).
    static let algorithm = "gbdt"

    @Test func servedAnchorTestRowsEqualInProcessScoring() throws {
        let started = Date()
        let book = try SharedLoanBook.book()
        #expect(book.anchorTestIDs.count == 6829)
        var o = TrainingOptions()
        o.algorithm = Self.algorithm
        o.seed = 42
        o.validationFraction = 0.2
        o.testIDs = book.anchorTestIDs
        o.threshold = .minPrecision(0.80)
        let loaded = Date()
        let outcome = try Trainer.train(raw: book.raw, spec: book.spec, options: o)
        let trained = Date()

        let dir = TempDir()
        let path = "\(dir.path)/anchor.credit"
        _ = try outcome.artifact.write(to: path)
        let model = try ScoringModel(path: path)

        // The anchor-test rows, raw as the spec's query returns them.
        let ids = book.raw.column(named: book.spec.id)!.categoricalValues!
        let testRows = ids.indices.filter { ids[$0].map(book.anchorTestIDs.contains) ?? false }
        #expect(testRows.count == 6829)
        var t = book.raw.selecting(rows: testRows)

        // Hostile values in a few rows: NaN, ±infinity, an unseen category, a missing category.
        let fields = model.inputFields
        let numericName = try #require(fields.first { t.column(named: $0.name)?.numericValues != nil }?.name)
        let categoricalName = try #require(fields.first { t.column(named: $0.name)?.categoricalValues != nil }?.name)
        var num = t.column(named: numericName)!.numericValues!
        num[10] = .nan; num[11] = .infinity; num[12] = -.infinity
        t.replace(.numeric(numericName, num))
        var cat = t.column(named: categoricalName)!.categoricalValues!
        cat[13] = "Houseboat"; cat[14] = nil
        t.replace(.categorical(categoricalName, cat))

        let expected = try model.score(t)
        let scoredInProcess = Date()
        #expect(expected.count == 6829)
        #expect(expected[11].error != nil && expected[12].error != nil, "±infinity must be a row error in process")

        var config = DaemonConfig(modelPath: path, listen: [.unix(path: dir.socket), .tcp(host: "127.0.0.1", port: 0)])
        config.idleTimeoutSeconds = 30
        let d = try buildDaemon(config: config, loader: ScoringModelBackend.loader, logger: testLogger)
        defer { d.stop() }

        var compared = 0
        for address in [d.unixAddress, d.tcpAddress] {
            let c = try CreditClient(address, timeoutSeconds: 30)
            defer { c.close() }
            let info = try #require(try c.call(Request(id: 1, .modelInfo)).modelInfo)
            #expect(info.modelId == model.modelID && info.algorithm == Self.algorithm && info.threshold == model.threshold)

            // Columnar batches of 1,000.
            var start = 0, requestID: UInt64 = 10
            while start < t.rowCount {
                let rows = Array(start..<min(start + 1000, t.rowCount))
                let batch = RealModelTests.batch(t.selecting(rows: rows), fields: info.fields)
                let r = try c.call(Request(id: requestID, .score(.columns(batch))))
                let s = try #require(r.score, "\(address): \(r.status)")
                try #require(s.probability.count == rows.count)
                for (j, row) in rows.enumerated() {
                    Self.compare(expected[row], s, at: j, label: "\(address) row \(row)")
                    compared += 1
                }
                start += 1000
                requestID += 1
            }

            // The single-row form: the hostile rows and a few ordinary ones.
            for row in [0, 1, 2, 10, 11, 12, 13, 14, 500, 6828] {
                var values: [(field: String, value: ApplicantRow.Value)] = []
                for f in info.fields {
                    switch t.column(named: f.name)!.values {
                    case .numeric(let v): values.append((f.name, .number(v[row] ?? .nan)))
                    case .categorical(let v): if let x = v[row] { values.append((f.name, .text(x))) }
                    }
                }
                let r = try c.call(Request(id: requestID, .score(.row(ApplicantRow(id: "r\(row)", fields: values)))))
                requestID += 1
                let s = try #require(r.score, "\(address) row \(row): \(r.status)")
                try #require(s.probability.count == 1)
                Self.compare(expected[row], s, at: 0, label: "\(address) single row \(row)")
                compared += 1
            }
        }
        #expect(compared == 2 * (6829 + 10))
        print("AnchorServingTests phases (s): load \(loaded.timeIntervalSince(started)) train \(trained.timeIntervalSince(loaded)) score \(scoredInProcess.timeIntervalSince(trained)) serve \(Date().timeIntervalSince(scoredInProcess))")
        print("AnchorServingTests: \(compared) served answers (6,829 anchor-test rows + 10 single rows, unix + tcp) equal in-process scoring; \(expected.filter { $0.error != nil }.count) error rows; \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }

    /// Served answer `j` of `s` equals the in-process result `e` exactly.
    static func compare(_ e: ApplicantResult, _ s: ScoreResult, at j: Int, label: String) {
        if let score = e.score {
            #expect(s.probability[j].bitPattern == score.probability.bitPattern, "\(label): \(s.probability[j]) != \(score.probability)")
            #expect(s.decision[j] == (score.refuse ? .refuse : .approve), "\(label)")
            #expect(s.reasons[j].map(\.feature) == score.reasons.map(\.feature), "\(label)")
            #expect(s.reasons[j].map(\.text) == score.reasons.map(\.text), "\(label)")
            #expect(s.reasons[j].map(\.contribution.bitPattern) == score.reasons.map(\.contribution.bitPattern), "\(label)")
            #expect(!s.errors.contains { $0.index == j }, "\(label): served a row error, in process it scored")
        } else {
            let got = s.errors.first { $0.index == j }
            #expect(got != nil, "\(label): in process a row error (\(e.error.map { "\($0)" } ?? "")), served a score")
            #expect(got?.field == e.error?.field, "\(label)")
            #expect(s.probability[j].isNaN, "\(label)")
        }
    }
}
