import CreditData
import CreditTestSupport
import Foundation
import Testing

/// The seeds' own paths, end to end through `credit`: the shared dumps restored into SQLite,
/// loaded into the live MariaDB with the `mariadb` client (scripts/load-alura-mysql.sh) and
/// copied into PostgreSQL (`credit db copy`); training from each gives the same training-data
/// fingerprint and model id, and scoring gives byte-identical files. The servers' passwords
/// appear in no output.
@Suite(.enabled(if: Servers.enabled), .serialized) struct SeedPathTests {
    @Test func mysqlAndPostgresTrainAndScoreExactlyAsSQLite() throws {
        let binary = try Paths.credit()
        let pg = try Servers.postgres(), my = try Servers.mysql()
        let secrets = [try Servers.password(of: pg), try Servers.password(of: my)]
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dumps = ["analise_risco_dados_mutuarios.sql", "analise_risco_emprestimos.sql",
                     "analise_risco_historicos_banco.sql", "analise_risco_ids.sql"].map { Paths.dumps.appendingPathComponent($0).path }
        for d in dumps { try #require(FileManager.default.fileExists(atPath: d), "shared data missing: \(d)") }
        var outputs: [String] = []
        func credit(_ args: [String]) throws -> ProcessResult {
            let r = try run(binary, args)
            outputs += [r.stdout, r.stderr]
            try #require(r.status == 0, "credit \(args.prefix(2)): \(r.stderr)")
            return r
        }

        let db = dir.appendingPathComponent("alura.db").path
        _ = try credit(["db", "restore", "--into", "sqlite:\(db)"] + dumps)
        let load = try run("/bin/bash", [Paths.root.appendingPathComponent("scripts/load-alura-mysql.sh").path,
                                         String(my[..<my.range(of: "/", options: .backwards)!.lowerBound]), "credit_alura", Paths.dumps.path])
        try #require(load.status == 0, "load: \(load.stderr)")
        let mysqlBook = try Servers.with(database: "credit_alura", my)
        _ = try credit(["db", "copy", "--from", "sqlite:\(db)", "--to", pg])

        let testIDs = Paths.dumps.appendingPathComponent("anchor-split/test_loan_ids.txt").path
        var fingerprints: [String] = [], models: [String] = [], scores: [Data] = []
        for (name, source) in [("sqlite", "sqlite:\(db)"), ("mysql", mysqlBook), ("postgres", pg)] {
            let model = dir.appendingPathComponent("\(name).credit").path, metrics = dir.appendingPathComponent("\(name).json").path
            let train = try credit(["train", "--data", source, "--spec", Paths.spec, "--algorithm", "logistic", "--test-ids", testIDs,
                                    "--validation", "0.2", "--min-precision", "0.80", "--out", model, "--metrics", metrics])
            models.append(train.stdout.split(separator: "\n").last { $0.hasPrefix("model ") }.map(String.init) ?? "")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: metrics))) as? [String: Any]
            fingerprints.append(json?["data_fingerprint"] as? String ?? "")
            let csv = dir.appendingPathComponent("\(name)-scores.csv").path
            _ = try credit(["score", "--model", dir.appendingPathComponent("sqlite.credit").path, "--data", source, "--out", "csv:\(csv)"])
            scores.append(try Data(contentsOf: URL(fileURLWithPath: csv)))
            let html = dir.appendingPathComponent("\(name).html").path
            _ = try credit(["profile", "--data", source, "--spec", Paths.spec, "--out", html, "--json", html + ".json"])
            for f in [model, metrics, html, html + ".json"] { outputs.append(String(decoding: try Data(contentsOf: URL(fileURLWithPath: f)), as: UTF8.self)) }
        }
        #expect(!fingerprints[0].isEmpty && Set(fingerprints).count == 1, "\(fingerprints)")
        #expect(!models[0].isEmpty && models[1].prefix(71) == models[0].prefix(71) && models[2].prefix(71) == models[0].prefix(71), "\(models)")
        #expect(scores[1] == scores[0] && scores[2] == scores[0], "scores differ between sources")
        #expect(scores[0].count > 1_000_000)

        // The score sinks on both servers, twice: every id exactly once.
        for out in [pg + "#public.credit_scores", my + "#credit_scores"] {
            for _ in 0..<2 {
                _ = try credit(["score", "--model", dir.appendingPathComponent("sqlite.credit").path, "--data", "sqlite:\(db)", "--out", out])
            }
            let base = String(out[..<out.firstIndex(of: "#")!])
            let t = try DataSources.open(base).read(query: "SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM credit_scores")
            #expect(t.column(named: "n")?.numericValues == [34485] && t.column(named: "d")?.numericValues == [34485], "\(out.prefix(8))")
        }

        // A server that is down: one line naming host:port, exit != 0.
        for down in ["postgres://credit:\(secrets[0])@127.0.0.1:1/credit", "mysql://credit:\(secrets[1])@127.0.0.1:1/credit"] {
            let r = try run(binary, ["profile", "--data", down, "--spec", Paths.spec, "--out", dir.appendingPathComponent("x.html").path])
            outputs += [r.stdout, r.stderr]
            #expect(r.status != 0)
            #expect(r.stderr.contains("127.0.0.1:1") && r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1, "\(r.stderr)")
        }
        // The secrets, nowhere.
        for secret in secrets {
            #expect(!outputs.contains { $0.contains(secret) }, "a password leaked into an output")
        }
    }
}
