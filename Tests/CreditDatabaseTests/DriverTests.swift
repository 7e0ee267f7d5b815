import CreditData
import CreditDomain
import CreditMySQL
import CreditPostgres
import CreditTestSupport
import Foundation
import Testing

/// The drivers against the live servers: types, streaming batches, sinks, failures.
@Suite(.enabled(if: Servers.enabled), .serialized) struct DriverTests {
    /// A small typed table on each server, read whole and in batches crossing fetch boundaries.
    @Test func typesAndBatchesOnBothServers() throws {
        let sqlCreate = [
            "DROP TABLE IF EXISTS credit_types",
            "CREATE TABLE credit_types (id VARCHAR(8), n INT, d DECIMAL(10,2), f DOUBLE PRECISION, t VARCHAR(10))",
            "INSERT INTO credit_types VALUES ('a', 1, 2.50, 0.1, 'x'), ('b', NULL, NULL, NULL, ''), ('c', 3, -1.25, 1e-5, NULL),"
                + " ('d', 4, 0, 3.75, 'y'), ('e', 5, 7.00, 2.5, 'z')",
        ]
        let pg = try Servers.postgres(), my = try Servers.mysql()
        try runSQL(pg, sqlCreate)
        try runSQL(my, sqlCreate)
        var sources: [any DataSource] = [try PostgresSource(location: pg), try MySQLSource(location: my)]
        var p = try PostgresSource(location: pg)
        p.fetchRows = 2
        sources.append(p)
        for source in sources {
            let whole = try source.read(query: "SELECT * FROM credit_types ORDER BY id")
            #expect(whole.rowCount == 5, "\(source.description)")
            #expect(whole.column(named: "n")?.numericValues == [1, nil, 3, 4, 5])
            #expect(whole.column(named: "d")?.numericValues == [2.5, nil, -1.25, 0, 7])
            #expect(whole.column(named: "f")?.numericValues == [0.1, nil, 1e-5, 3.75, 2.5])
            #expect(whole.column(named: "t")?.kind == .categorical)
            #expect(whole.column(named: "t")?.isMissing(row: 1) == true && whole.column(named: "t")?.isMissing(row: 2) == true)
            var batches: [Int] = []
            var joined: DataTable?
            try source.forEachBatch(query: "SELECT * FROM credit_types ORDER BY id;", rows: 2) { b in
                batches.append(b.rowCount)
                if joined == nil { joined = b } else { joined!.appendRows(of: b) }
            }
            #expect(batches == [2, 2, 1], "\(source.description)")
            #expect(joined == whole)
        }
    }

    /// The score sinks: created if missing, upserted by id, a rerun duplicates nothing.
    @Test func upsertCreatesThenReplacesByID() throws {
        for location in [try Servers.postgres() + "#public.credit_upsert", try Servers.mysql() + "#credit_upsert"] {
            let base = String(location[..<location.firstIndex(of: "#")!])
            try runSQL(base, ["DROP TABLE IF EXISTS credit_upsert"])
            let sink = try DataSources.sink(location) as! UpsertingSink
            let t1 = DataTable(columns: [.categorical("id", ["a", "b", "c"]), .numeric("p", [0.1, 0.2, 0.3]), .categorical("s", ["it's", "x\\y", nil])])
            try sink.upsert(t1, key: "id", batchRows: 2)
            let t2 = DataTable(columns: [.categorical("id", ["c", "d"]), .numeric("p", [0.9, 0.4]), .categorical("s", ["z", "w"])])
            try sink.upsert(t2, key: "id", batchRows: 1)
            let back = try DataSources.open(base).read(query: "SELECT id, p, s FROM credit_upsert ORDER BY id")
            #expect(back.column(named: "id")?.categoricalValues == ["a", "b", "c", "d"], "\(location)")
            #expect(back.column(named: "p")?.numericValues == [0.1, 0.2, 0.9, 0.4])
            #expect(back.column(named: "s")?.categoricalValues == ["it's", "x\\y", "z", "w"])
        }
    }

    /// A server that is down: one line naming host:port; a query error: the server's message.
    @Test func failuresAreOneLineAndNameTheServer() throws {
        for location in ["postgres://credit:hunter2secret@127.0.0.1:1/credit", "mysql://credit:hunter2secret@127.0.0.1:1/credit"] {
            #expect {
                _ = try DataSources.open(location).read(query: "SELECT 1")
            } throws: { e in
                let m = "\(e)"
                return m.contains("127.0.0.1:1") && !m.contains("hunter2secret") && !m.contains("\n")
            }
        }
        #expect {
            _ = try DataSources.open(try Servers.postgres()).read(query: "SELECT nope")
        } throws: { "\($0)".contains("column \"nope\" does not exist") }
        #expect {
            _ = try DataSources.open(try Servers.mysql()).read(query: "SELECT nope")
        } throws: { "\($0)".contains("Unknown column 'nope'") }
    }

    /// Redaction of every URL form.
    @Test func locationsAreShownWithoutTheirPassword() throws {
        let u = try DatabaseURL("postgres://ana:p%40ss@db.example:6543/book?sslmode=require&password=zz#s.t")
        #expect(u.user == "ana" && u.password == "p@ss" && u.port == 6543 && u.database == "book" && u.fragment == "s.t")
        #expect(u.description == "postgres://ana@db.example:6543/book?sslmode=require#s.t")
        #expect(DatabaseURL.redact("mysql://ana:pw@h:1/db") == "mysql://ana@h:1/db")
        #expect(!DatabaseURL.redact("postgres://a@h/db?password=zz").contains("zz"))
    }
}

/// Runs statements with the servers' own clients (psql, mariadb); the password goes through
/// the environment.
func runSQL(_ location: String, _ statements: [String]) throws {
    let u = try DatabaseURL(location)
    let r: ProcessResult
    if u.scheme.hasPrefix("postgres") {
        r = try run("/usr/bin/env", ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", u.host, "-p", String(u.port ?? 5432),
                                     "-U", u.user ?? "postgres", "-d", u.database ?? "postgres"] + statements.flatMap { ["-c", $0] },
                    environment: ["PGPASSWORD": u.password ?? ""])
    } else {
        r = try run("/usr/bin/env", ["mariadb", "--no-defaults", "-h", u.host, "-P", String(u.port ?? 3306), "-u", u.user ?? "root",
                                     u.database ?? "", "-e", statements.joined(separator: ";\n")],
                    environment: ["MYSQL_PWD": u.password ?? ""])
    }
    try #require(r.status == 0, "\(u.description): \(r.stderr)")
}
