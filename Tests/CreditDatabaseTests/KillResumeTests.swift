import CreditData
import CreditDomain
import CreditTestSupport
import Foundation
import Testing

/// Kill and resume (docs/data.md, "Stopping and resuming"): `credit score` streams a synthetic
/// book from each server into a table on the same server; a second session terminates its
/// database sessions mid-run (`pg_terminate_backend`, MariaDB's `KILL`); the run stops with
/// the resume point, the table then holds exactly the rows before it, and a rerun with
/// `--start-row` completes the table: every input id exactly once, with the in-process
/// probability.
@Suite(.enabled(if: Servers.enabled), .serialized) struct KillResumeTests {
    static let loans = 40_000   // 39,999 joined rows (one ids row has an empty person id)

    @Test func killedSessionsStopWithTheResumePointAndARerunCompletes() throws {
        let binary = try Paths.credit()
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("book.db").path, model = dir.appendingPathComponent("m.credit").path
        func credit(_ args: [String]) throws -> ProcessResult {
            let r = try run(binary, args)
            try #require(r.status == 0, "credit \(args.prefix(2)): \(r.stderr)")
            return r
        }
        _ = try credit(["synth", "--rows", "\(Self.loans)", "--seed", "31", "--out", "sqlite:\(db)"])
        _ = try credit(["train", "--data", "sqlite:\(db)", "--spec", Paths.spec, "--algorithm", "logistic", "--out", model, "--seed", "2"])
        let reference = dir.appendingPathComponent("ref.csv").path
        _ = try credit(["score", "--model", model, "--data", "sqlite:\(db)", "--out", "csv:\(reference)"])
        var expected: [String: String] = [:]   // id -> probability as written (empty for an error row)
        for line in try String(contentsOfFile: reference, encoding: .utf8).split(separator: "\n").dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            expected[String(cells[0])] = String(cells[1])
        }
        try #require(expected.count == Self.loans - 1)

        // The book on each server, apart from the other tests' tables: PostgreSQL schema
        // credit_kill (the query finds it through search_path), MariaDB database credit_kill.
        let pg = try Servers.postgres(), my = try Servers.mysql()
        try runSQL(pg, ["DROP SCHEMA IF EXISTS credit_kill CASCADE", "CREATE SCHEMA credit_kill"])
        _ = try credit(["db", "copy", "--from", "sqlite:\(db)", "--to", pg + "#credit_kill"])
        try runSQL(my, ["DROP DATABASE IF EXISTS credit_kill", "CREATE DATABASE credit_kill"])
        let myBook = try Servers.with(database: "credit_kill", my)
        _ = try credit(["db", "copy", "--from", "sqlite:\(db)", "--to", myBook])
        try runSQL(myBook, ["CREATE INDEX person ON dados_mutuarios (person_id(32))", "CREATE INDEX loan ON emprestimos (loan_id(32))",
                            "CREATE INDEX cb ON historicos_banco (cb_id(32))"])
        let pgBook = pg + "?options=-csearch_path%3Dcredit_kill&application_name=credit-kill"

        let servers: [(name: String, book: String, table: String, kill: () throws -> Int)] = [
            ("postgres", pgBook, "credit_kill.scores", {
                try Int(query(pg, "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'credit-kill'")) ?? 0
            }),
            ("mariadb", myBook, "scores", {
                let ids = try query(my, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = 'credit_kill' AND ID <> CONNECTION_ID()")
                    .split(separator: "\n").map(String.init)
                if !ids.isEmpty { try runSQL(my, ids.map { "KILL \($0)" }) }
                return ids.count
            }),
        ]
        for s in servers {
            let out = s.book + "#" + s.table   // the sink's session is killed too (same application_name / database)
            let count = "SELECT COUNT(*) FROM \(s.table)"
            let base = s.name == "postgres" ? pg : myBook
            try runSQL(base, ["DROP TABLE IF EXISTS \(s.table)"])
            let args = ["score", "--model", model, "--data", s.book, "--out", out, "--batch-size", "200"]

            // Run, and kill the sessions once a few batches are in the table.
            let stderr = dir.appendingPathComponent("\(s.name).err")
            _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = try FileHandle(forWritingTo: stderr)
            try p.run()
            var before = 0
            let deadline = Date().addingTimeInterval(120)
            while p.isRunning && Date() < deadline {
                before = (try? Int(query(base, count))) ?? 0
                if before >= 1000 { break }
                usleep(10_000)
            }
            let killed = try s.kill()
            p.waitUntilExit()
            let log = try String(contentsOf: stderr, encoding: .utf8)
            #expect(killed >= 1 && before >= 1000, "\(s.name): the kill should land mid-run (\(before) rows written, \(killed) sessions)")
            #expect(p.terminationStatus != 0, "\(s.name): \(log)")
            #expect(["lost", "terminat", "gone away", "killed"].contains { log.contains($0) }, "\(s.name): \(log)")
            let resume = try #require(log.range(of: "--start-row ").flatMap { Int(log[$0.upperBound...].prefix { $0.isNumber }) }, "\(s.name): \(log)")
            #expect(resume >= 1000 && resume < Self.loans - 1, "\(s.name): \(log)")
            // Exactly the rows before the resume point are in the table.
            #expect(try Int(query(base, count)) == resume, "\(s.name)")

            // The rerun from the resume point completes the table.
            let rerun = try credit(args + ["--start-row", "\(resume)"])
            #expect(rerun.stderr.contains("of \(Self.loans - 1 - resume) rows"), "\(s.name): \(rerun.stderr)")
            let back = try DataSources.open(s.book).read(query: "SELECT id, probability_default FROM \(s.table)")
            let ids = back.column(named: "id").map { c in (0..<c.count).map { c.text(row: $0) } } ?? []
            let probs = back.column(named: "probability_default").map { c in (0..<c.count).map { c.text(row: $0) } } ?? []
            #expect(ids.count == Self.loans - 1 && Set(ids).count == ids.count, "\(s.name): \(ids.count) rows")
            #expect(Set(ids) == Set(expected.keys), "\(s.name)")
            let wrong = zip(ids, probs).filter { expected[$0.0] != $0.1 }
            #expect(wrong.isEmpty, "\(s.name): \(wrong.count) rows differ from in-process scoring, e.g. \(wrong.prefix(3))")
        }
    }
}

/// One value (or lines of values) from the servers' own clients (psql, mariadb).
func query(_ location: String, _ sql: String) throws -> String {
    let u = try DatabaseURL(location)
    let r: ProcessResult
    if u.scheme.hasPrefix("postgres") {
        r = try run("/usr/bin/env", ["psql", "-X", "-q", "-t", "-A", "-h", u.host, "-p", String(u.port ?? 5432),
                                     "-U", u.user ?? "postgres", "-d", u.database ?? "postgres", "-c", sql],
                    environment: ["PGPASSWORD": u.password ?? ""])
    } else {
        r = try run("/usr/bin/env", ["mariadb", "--no-defaults", "-N", "-B", "-h", u.host, "-P", String(u.port ?? 3306),
                                     "-u", u.user ?? "root", u.database ?? "", "-e", sql],
                    environment: ["MYSQL_PWD": u.password ?? ""])
    }
    guard r.status == 0 else { throw DataSourceError.failed(source: u.description, message: r.stderr) }
    return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}
