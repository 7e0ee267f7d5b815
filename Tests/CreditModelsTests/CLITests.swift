import CreditDomain
import CreditModels
import Foundation
import CreditTestSupport
import Testing

/// End to end through the real `credit` executable: train → score → evaluate on synthetic CSV.
@Suite struct CLITests {
    static var creditBinary: URL { BuiltProducts.url("credit") }

    typealias Run = ProcessResult

    static func credit(_ args: [String], in directory: String? = nil) throws -> Run {
        try run(creditBinary.path, args, in: directory)
    }

    /// Minimal CSV line split (the test writes no quoted commas except in reason texts).
    static func fields(_ line: Substring) -> [String] {
        var out: [String] = [], cur = "", quoted = false
        var it = line.makeIterator()
        while let ch = it.next() {
            if ch == "\"" { quoted.toggle(); continue }
            if ch == "," && !quoted { out.append(cur); cur = ""; continue }
            cur.append(ch)
        }
        out.append(cur)
        return out
    }

    /// An empty directory for one test's files.
    static func emptyDirectory(_ name: String) throws -> String {
        let dir = temporaryPath(name)
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func trainScoreEvaluateOnSyntheticCSV() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.creditBinary.path), "credit binary not found at \(Self.creditBinary.path)")
        let dir = try Self.emptyDirectory("cli")
        let train = "\(dir)/train.csv", apply = "\(dir)/apply.csv", spec = "\(dir)/spec.json"
        try Synthetic.csv(Synthetic.table(rows: 3000, seed: 1)).write(toFile: train, atomically: true, encoding: .utf8)
        try Synthetic.specJSON().write(to: URL(fileURLWithPath: spec))
        // Applicants: 50 rows; row 10 has a negative income (a row error), row 11 an unseen category.
        var applicants = Synthetic.table(rows: 50, seed: 2)
        var income = applicants.column(named: "person_income")!.numericValues!
        income[10] = -5
        applicants.replace(.numeric("person_income", income))
        var intent = applicants.column(named: "loan_intent")!.categoricalValues!
        intent[11] = "Yacht"
        applicants.replace(.categorical("loan_intent", intent))
        try Synthetic.csv(applicants).write(toFile: apply, atomically: true, encoding: .utf8)
        let idFile = "\(dir)/exclude.txt"
        try "L000000\nL000001\n".write(toFile: idFile, atomically: true, encoding: .utf8)

        let t = try Self.credit(["train", "--data", "csv:\(train)", "--spec", spec, "--algorithm", "auto",
                                 "--out", "\(dir)/m.credit", "--metrics", "\(dir)/train.json", "--seed", "7",
                                 "--min-precision", "0.6", "--exclude-ids", idFile])
        #expect(t.status == 0, "train failed: \(t.stderr)")
        #expect(t.stdout.contains("logistic"))
        #expect(t.stderr.contains("iteration"))   // plain progress lines (stderr is not a TTY)
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/train.json"))) as! [String: Any]
        for set in ["validation", "test"] {
            let m = try #require(metrics[set] as? [String: Any])
            for key in ["rows", "positives", "roc_auc", "pr_auc", "ks", "brier", "log_loss", "threshold", "precision", "recall", "f1", "confusion", "at_0_5", "calibration"] {
                #expect(m[key] != nil, "\(set).\(key) missing")
            }
            #expect((m["roc_auc"] as! Double) > 0.7)
        }

        let s = try Self.credit(["score", "--model", "\(dir)/m.credit", "--data", "csv:\(apply)", "--out", "csv:\(dir)/scores.csv"])
        #expect(s.status == 0, "score failed: \(s.stderr)")
        let lines = try String(contentsOfFile: "\(dir)/scores.csv", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 51)
        #expect(lines[0] == "loan_id,probability,decision,reason_1,reason_1_contribution,reason_2,reason_2_contribution,"
            + "reason_3,reason_3_contribution,reason_4,reason_4_contribution,error,model_id")
        let rows = lines.dropFirst().map(Self.fields)
        #expect(rows.map { $0[0] } == (0..<50).map { String(format: "L%06d", $0) })   // input order
        #expect(rows[10][2] == "error" && rows[10][11].contains("person_income"))
        #expect(rows[11][2] == "approve" || rows[11][2] == "refuse")
        #expect(rows.filter { $0[2] != "error" }.allSatisfy { Double($0[1]).map { $0 > 0 && $0 < 1 } == true })

        let e = try Self.credit(["evaluate", "--model", "\(dir)/m.credit", "--data", "csv:\(train)",
                                 "--only-ids", idFile, "--metrics", "\(dir)/eval.json"])
        #expect(e.status == 0, "evaluate failed: \(e.stderr)")
        let ev = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/eval.json"))) as! [String: Any]
        #expect(ev["rows"] as? Int == 2)
        #expect(ev["roc_auc"] != nil && ev["confusion"] != nil && ev["model_id"] != nil)

        // A damaged model file is refused with a clear message and a failure status.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/m.credit"))
        bytes[bytes.count - 40] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: "\(dir)/bad.credit"))
        let bad = try Self.credit(["score", "--model", "\(dir)/bad.credit", "--data", "csv:\(apply)", "--out", "csv:\(dir)/x.csv"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("damaged"))
        // Option validation.
        let invalid = try Self.credit(["train", "--data", "csv:\(train)", "--spec", spec, "--out", "\(dir)/y.credit",
                                       "--min-precision", "0.5", "--cost-missed-default", "1", "--cost-refused-good", "1"])
        #expect(invalid.status != 0 && invalid.stderr.contains("not both"))
    }

    /// `--tree-shape oblivious` trains symmetric gbdt trees, records the shape in the artifact and
    /// scores through it; an unknown shape is refused by name.
    @Test func trainObliviousTrees() throws {
        let dir = try Self.emptyDirectory("cli-oblivious")
        let train = "\(dir)/train.csv", spec = "\(dir)/spec.json"
        try Synthetic.csv(Synthetic.table(rows: 3000, seed: 3)).write(toFile: train, atomically: true, encoding: .utf8)
        try Synthetic.specJSON().write(to: URL(fileURLWithPath: spec))
        let t = try Self.credit(["train", "--data", "csv:\(train)", "--spec", spec, "--algorithm", "gbdt", "--tree-shape", "oblivious",
                                 "--validation", "0.2", "--out", "\(dir)/m.credit"])
        #expect(t.status == 0, "train failed: \(t.stderr)")
        let artifact = try String(decoding: Data(contentsOf: URL(fileURLWithPath: "\(dir)/m.credit")), as: UTF8.self)
        #expect(artifact.contains("\"treeShape\":\"oblivious\""))
        let s = try Self.credit(["score", "--model", "\(dir)/m.credit", "--data", "csv:\(train)", "--out", "csv:\(dir)/scores.csv"])
        #expect(s.status == 0, "score failed: \(s.stderr)")
        #expect(try String(contentsOfFile: "\(dir)/scores.csv", encoding: .utf8).split(separator: "\n").count == 3001)
        let bad = try Self.credit(["train", "--data", "csv:\(train)", "--spec", spec, "--algorithm", "gbdt", "--tree-shape", "round",
                                   "--out", "\(dir)/x.credit"])
        #expect(bad.status != 0 && bad.stderr.contains("--tree-shape must be loss-guided or oblivious, got round"))
    }

    /// `--monotone-method intermediate` reaches the gbdt learner (another model than the basic
    /// method's on a spec with constraints); an unknown method is refused by name.
    @Test func trainWithTheIntermediateMonotoneMethod() throws {
        let dir = try Self.emptyDirectory("cli-monotone-method")
        let train = "\(dir)/train.csv", spec = "\(dir)/spec.json"
        try Synthetic.csv(Synthetic.table(rows: 2000, seed: 3)).write(toFile: train, atomically: true, encoding: .utf8)
        try JSONEncoder().encode(MonotoneTests.ordinalSpec).write(to: URL(fileURLWithPath: spec))
        var ids: [String] = []
        for method in ["basic", "intermediate"] {
            let t = try Self.credit(["train", "--data", "csv:\(train)", "--spec", spec, "--algorithm", "gbdt", "--monotone-method", method,
                                     "--validation", "0.2", "--out", "\(dir)/\(method).credit"])
            #expect(t.status == 0, "train failed: \(t.stderr)")
            ids.append(String(try String(contentsOfFile: "\(dir)/\(method).credit", encoding: .utf8).split(separator: "\n")[1]))
        }
        #expect(ids[0] != ids[1])
        let bad = try Self.credit(["train", "--data", "csv:\(train)", "--spec", spec, "--algorithm", "gbdt", "--monotone-method", "advanced",
                                   "--out", "\(dir)/x.credit"])
        #expect(bad.status != 0 && bad.stderr.contains("--monotone-method must be basic or intermediate, got advanced"))
    }

    /// `--query @file.sql` is read the same way by every command that reads rows (a path
    /// relative to the working directory, as `@examples/alura-cash/join.sql` is).
    @Test func queryFromAFileForEveryCommand() throws {
        let dir = try Self.emptyDirectory("cli-query")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let spec = root.appendingPathComponent("examples/alura-cash/spec.json").path
        let join = try String(contentsOf: root.appendingPathComponent("examples/alura-cash/join.sql"), encoding: .utf8)
        let synth = try Self.credit(["synth", "--rows", "1500", "--seed", "4", "--out", "sqlite:book.db"], in: dir)
        #expect(synth.status == 0, "synth failed: \(synth.stderr)")
        // Not the spec's default query: the first 1,000 loans of its join.
        try (join + "LIMIT 1000\n").write(toFile: "\(dir)/first.sql", atomically: true, encoding: .utf8)
        let data = ["--data", "sqlite:book.db", "--query", "@first.sql"]

        let p = try Self.credit(["profile"] + data + ["--spec", spec, "--out", "p.html", "--json", "p.json"], in: dir)
        #expect(p.status == 0, "profile failed: \(p.stderr)")
        #expect(p.stdout.contains("profiled 1000 rows"), "\(p.stdout)")

        let t = try Self.credit(["train"] + data + ["--spec", spec, "--algorithm", "logistic", "--out", "m.credit"], in: dir)
        #expect(t.status == 0, "train failed: \(t.stderr)")
        #expect(t.stderr.contains("1000 rows read"), "\(t.stderr)")

        let e = try Self.credit(["evaluate", "--model", "m.credit"] + data + ["--metrics", "e.json"], in: dir)
        #expect(e.status == 0, "evaluate failed: \(e.stderr)")
        #expect(e.stderr.contains("1000 rows read"), "\(e.stderr)")

        let s = try Self.credit(["score", "--model", "m.credit"] + data + ["--out", "csv:s.csv"], in: dir)
        #expect(s.status == 0, "score failed: \(s.stderr)")
        #expect(s.stderr.contains("of 1000 rows"), "\(s.stderr)")
        #expect(try String(contentsOfFile: "\(dir)/s.csv", encoding: .utf8).split(separator: "\n").count == 1001)

        // Without --query the spec's default query (its query_file) is used: every joined loan.
        let all = try Self.credit(["score", "--model", "m.credit", "--data", "sqlite:book.db", "--out", "csv:all.csv"], in: dir)
        #expect(all.status == 0 && all.stderr.contains("of 1499 rows"), "\(all.stderr)")
        // A missing query file is named, never sent to the database as SQL.
        let missing = try Self.credit(["score", "--model", "m.credit", "--data", "sqlite:book.db", "--query", "@nope.sql",
                                       "--out", "csv:x.csv"], in: dir)
        #expect(missing.status != 0 && missing.stderr.contains("file not found: nope.sql"), "\(missing.stderr)")
    }
}
