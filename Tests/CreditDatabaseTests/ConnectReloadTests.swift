import CreditData
import CreditTestSupport
import Foundation
import Testing

/// `credit score --connect` into a PostgreSQL table while the daemon hot-reloads another
/// model: each row's `model_id` is the model that scored it (the one its answer named, not
/// the one ModelInfo gave at the start), and its probability and threshold are that model's,
/// exactly as in-process scoring gives them.
@Suite(.enabled(if: Servers.enabled), .serialized) struct ConnectReloadTests {
    @Test func everyRowNamesTheModelThatScoredIt() throws {
        let binary = try Paths.credit()
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        func credit(_ args: [String]) throws -> ProcessResult {
            let r = try run(binary, args)
            try #require(r.status == 0, "credit \(args.prefix(2)): \(r.stderr)")
            return r
        }
        _ = try credit(["synth", "--rows", "30000", "--seed", "41", "--out", "sqlite:\(path("book.db"))"])
        // Two models, and each one's in-process scores (id -> probability) and model id.
        var reference: [String: [String: String]] = [:]
        var thresholds: [String: String] = [:]
        var ids: [String] = []
        for (name, seed) in [("a", "2"), ("b", "9")] {
            _ = try credit(["train", "--data", "sqlite:\(path("book.db"))", "--spec", Paths.spec, "--algorithm", "logistic",
                            "--validation", name == "a" ? "0.2" : "0.3", "--out", path("\(name).credit"), "--seed", seed])
            let s = try credit(["score", "--model", path("\(name).credit"), "--data", "sqlite:\(path("book.db"))", "--out", "csv:\(path("\(name).csv"))"])
            let id = try #require(s.stderr.range(of: ", model ").map { String(s.stderr[$0.upperBound...].prefix { $0.isHexDigit }) })
            ids.append(id)
            var probs: [String: String] = [:]
            for line in try String(contentsOfFile: path("\(name).csv"), encoding: .utf8).split(separator: "\n").dropFirst() {
                let cells = line.split(separator: ",", omittingEmptySubsequences: false)
                probs[String(cells[0])] = String(cells[1])
            }
            reference[id] = probs
        }
        try #require(ids[0] != ids[1], "the two models should differ")

        // The daemon serves a.credit from served.credit; mid-run b.credit replaces it and SIGHUP reloads.
        let served = path("served.credit"), socket = path("d.sock")
        try FileManager.default.copyItem(atPath: path("a.credit"), toPath: served)
        let daemon = try CreditdProcess(["--model", served, "--listen", "unix:\(socket)", "--log-level", "error"],
                                        until: { accepts(.unix(path: socket)) })

        let pg = try Servers.postgres()
        try runSQL(pg, ["DROP TABLE IF EXISTS credit_reload_scores"])
        let scorer = Process()
        scorer.executableURL = URL(fileURLWithPath: binary)
        scorer.arguments = ["score", "--connect", "unix:\(socket)", "--data", "sqlite:\(path("book.db"))",
                            "--out", pg + "#credit_reload_scores", "--batch-size", "100", "--in-flight", "1"]
        scorer.standardOutput = FileHandle.nullDevice
        scorer.standardError = FileHandle.nullDevice
        try scorer.run()
        var before = 0
        while scorer.isRunning {
            before = (try? Int(query(pg, "SELECT COUNT(*) FROM credit_reload_scores"))) ?? 0
            if before >= 3000 { break }
            usleep(10_000)
        }
        try FileManager.default.removeItem(atPath: served)
        try FileManager.default.copyItem(atPath: path("b.credit"), toPath: served)
        daemon.signal(SIGHUP)
        scorer.waitUntilExit()
        #expect(scorer.terminationStatus == 0)
        #expect(before >= 3000 && before < 29_999, "the reload should land mid-run (\(before) rows written)")

        let back = try DataSources.open(pg).read(query: "SELECT id, probability_default, model_id, threshold, decision FROM credit_reload_scores")
        func texts(_ name: String) -> [String] { back.column(named: name).map { c in (0..<c.count).map { c.text(row: $0) } } ?? [] }
        let rowIDs = texts("id"), probs = texts("probability_default"), models = texts("model_id"), limits = texts("threshold")
        let decisions = texts("decision")
        #expect(rowIDs.count == 29_999 && Set(rowIDs).count == 29_999)
        #expect(Set(models) == Set(ids), "both models should appear: \(Set(models))")
        for k in rowIDs.indices {
            thresholds[models[k]] = thresholds[models[k]] ?? limits[k]
        }
        let wrong = rowIDs.indices.filter { reference[models[$0]]?[rowIDs[$0]] != probs[$0] || thresholds[models[$0]] != limits[$0] }
        #expect(wrong.isEmpty, "\(wrong.count) rows differ from in-process scoring by the model they name")
        #expect(thresholds[ids[0]] != nil && thresholds[ids[1]] != nil && !thresholds.values.contains(""))
        // The threshold written is the one the daemon decided with.
        let inconsistent = rowIDs.indices.filter { k in
            guard let p = Double(probs[k]), let t = Double(limits[k]) else { return false }
            return (decisions[k] == "refuse") != (p >= t)
        }
        #expect(inconsistent.isEmpty, "\(inconsistent.count) decisions disagree with the written threshold")
    }
}
