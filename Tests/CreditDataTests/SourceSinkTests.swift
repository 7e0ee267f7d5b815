import CreditDomain
import Foundation
import Testing
@testable import CreditData

@Suite struct SourceSinkTests {
    static let table = DataTable(columns: [
        .categorical("id", ["001", "002", "003", "004"]),
        .numeric("amount", [1500, 2.25, nil, -3]),
        .categorical("note", ["plain", "comma, inside", "quote \"q\" and\nnewline", nil]),
    ])

    @Test func csvRoundTripKeepsQuotingAndMissing() throws {
        let dir = try TestPaths.tempDir()
        let location = "csv:" + dir.appendingPathComponent("t.csv").path
        try DataSources.sink(location).write(Self.table)
        let text = try String(contentsOfFile: try DataSources.path(of: location), encoding: .utf8)
        #expect(text.hasPrefix("id,amount,note\n001,1500,plain\n002,2.25,\"comma, inside\"\n"))
        #expect(text.hasSuffix("004,-3,\n"))
        // The id is forced categorical (it looks numeric); the rest is inferred.
        let back = try DataSources.open(location, kinds: ColumnKinds(forced: ["id": .categorical])).read(query: nil)
        #expect(back == Self.table)
        // Inferred without forcing, the id becomes a number.
        let inferred = try DataSources.open(location).read(query: nil)
        #expect(inferred.column(named: "id")?.numericValues == [1, 2, 3, 4])
        #expect(throws: DataSourceError.queryNotSupported(source: location)) {
            try DataSources.open(location).read(query: "SELECT 1")
        }
    }

    @Test func sqliteSinkWritesANamedTableAndSourceReadsIt() throws {
        let dir = try TestPaths.tempDir()
        let path = dir.appendingPathComponent("t.db").path
        try DataSources.sink("sqlite:\(path)#scores").write(Self.table, adding: [.numeric("score", [0.1, 0.2, 0.3, 0.4])])
        try DataSources.sink("sqlite:\(path)#scores").write(Self.table, adding: [.numeric("score", [0.5, 0.6, 0.7, 0.8])])
        let back = try DataSources.open("sqlite:\(path)", kinds: ColumnKinds(forced: ["id": .categorical]))
            .read(query: "SELECT * FROM scores")
        #expect(back.rowCount == 4) // replaced, not appended
        #expect(back.column(named: "score")?.numericValues == [0.5, 0.6, 0.7, 0.8])
        #expect(back.column(named: "note") == Self.table.column(named: "note"))
        #expect(back.column(named: "amount") == Self.table.column(named: "amount"))
        try DataSources.sink("sqlite:\(path)").write(Self.table)
        #expect(try sqlScalar(path, "SELECT COUNT(*) FROM data") == 4)
    }

    @Test func typeInferenceAndForcedKinds() throws {
        let dir = try TestPaths.tempDir()
        let path = dir.appendingPathComponent("k.db").path
        let dump = dir.appendingPathComponent("k.sql").path
        try """
        CREATE TABLE k (a varchar(8), b varchar(8), c int, d varchar(8));
        INSERT INTO k VALUES ('1.5','x',1,''),('NA','2',NULL,NULL),('',NULL,3,'NULL'),(' 7 ','y',4,'');
        """.write(toFile: dump, atomically: true, encoding: .utf8)
        _ = try DumpRestorer().restore(files: [dump], into: path)
        let t = try SQLiteSource(path: path).read(query: "SELECT * FROM k")
        #expect(t.column(named: "a")?.numericValues == [1.5, nil, nil, 7]) // numbers stored as text
        #expect(t.column(named: "b")?.categoricalValues == ["x", "2", nil, "y"])
        #expect(t.column(named: "c")?.numericValues == [1, nil, 3, 4])
        #expect(t.column(named: "d")?.kind == .categorical) // nothing but missing values
        #expect(t.column(named: "d")?.missingCount == 4)
        let forced = try SQLiteSource(path: path, kinds: ColumnKinds(forced: ["c": .categorical]))
            .read(query: "SELECT c FROM k")
        #expect(forced.column(named: "c")?.categoricalValues == ["1", nil, "3", "4"])
        #expect(throws: DataSourceError.notNumeric(row: 0, column: "b", value: "x")) {
            try SQLiteSource(path: path, kinds: ColumnKinds(forced: ["b": .numeric])).read(query: "SELECT b FROM k")
        }
        #expect(throws: DataSourceError.self) { try SQLiteSource(path: path).read(query: "SELECT nope FROM k") }
        #expect(throws: DataSourceError.queryRequired(source: "sqlite:\(path)")) {
            try SQLiteSource(path: path).read(query: nil)
        }
    }

    @Test func factoryIsExtensibleAndRejectsUnknownSchemes() throws {
        // (postgres:// is registered by the credit executable and CreditDatabaseTests, which share this process.)
        #expect(throws: DataSourceError.self) { try DataSources.open("nosuchdb://db/loans") }
        struct Fixed: DataSource {
            var description: String { "fixed:" }
            func forEachBatch(query: String?, rows: Int, _ body: (DataTable) throws -> Void) throws {
                try body(DataTable(columns: [.numeric("q", [Double(query?.count ?? 0)])]))
            }
        }
        DataSources.register(scheme: "fixedtest") { _, _ in Fixed() }
        let t = try DataSources.open("fixedtest://anything").read(query: "abc")
        #expect(t.column(named: "q")?.numericValues == [3])
        let dir = try TestPaths.tempDir()
        let q = dir.appendingPathComponent("q.sql").path
        try "SELECT 42".write(toFile: q, atomically: true, encoding: .utf8)
        #expect(try DataSources.resolveQuery("@" + q) == "SELECT 42")
        #expect(try DataSources.resolveQuery("SELECT 1") == "SELECT 1")
    }
}
