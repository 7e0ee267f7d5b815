import CPostgres
import CreditData
import CreditDomain
import Foundation

/// `postgres://USER@HOST:PORT/DB`: runs a query on a PostgreSQL server and types the result.
///
/// The rows stream through a server-side cursor (`DECLARE ... NO SCROLL CURSOR` inside a
/// transaction, `FETCH FORWARD 10000` at a time), so memory holds one fetch and one batch
/// whatever the table's size. Types map as the dump restore maps them: smallint, integer,
/// bigint, real, double precision and numeric are numbers; every other type is text (a text
/// that parses as a number counts as one, see `TableBuilder`); NULL and '' are missing.
public struct PostgresSource: DataSource {
    public var url: DatabaseURL
    public var kinds: ColumnKinds
    /// Rows per FETCH (bounded memory; tests use small ones to cross fetch boundaries).
    public var fetchRows = 10_000

    public init(location: String, kinds: ColumnKinds = ColumnKinds()) throws {
        url = try DatabaseURL(location)
        self.kinds = kinds
    }

    public var description: String { url.description }

    /// Type OIDs (pg_type.h) read as numbers: int8, int2, int4, oid, float4, float8, numeric.
    static let numericTypes: Set<UInt32> = [20, 21, 23, 26, 700, 701, 1700]

    public func count(query: String?) throws -> Int? {
        guard let sql = Self.countSQL(query) else { return nil }
        return try PostgresConnection(url).query(sql) { r in
            PQntuples(r) == 1 && PQgetisnull(r, 0, 0) == 0 ? Int(String(cString: PQgetvalue(r, 0, 0))) : nil
        }
    }

    public func forEachBatch(query: String?, rows: Int, _ body: (DataTable) throws -> Void) throws {
        precondition(rows > 0, "forEachBatch: rows must be > 0")
        guard var sql = query?.trimmingCharacters(in: .whitespacesAndNewlines), !sql.isEmpty else {
            throw DataSourceError.queryRequired(source: description)
        }
        // A cursor takes one statement without its terminator.
        while sql.hasSuffix(";") { sql = String(sql.dropLast()).trimmingCharacters(in: .whitespacesAndNewlines) }
        let db = try PostgresConnection(url)
        try db.execute("BEGIN")
        try db.execute("DECLARE credit_rows NO SCROLL CURSOR FOR " + sql)
        var builder: TableBuilder?
        var numeric: [Bool] = []
        let fetch = "FETCH FORWARD \(max(1, min(fetchRows, rows))) FROM credit_rows"
        while true {
            let got: Int = try db.query(fetch) { r in
                if builder == nil {
                    let n = Int(PQnfields(r))
                    let names = (0..<n).map { String(cString: PQfname(r, Int32($0))) }
                    numeric = (0..<n).map { Self.numericTypes.contains(UInt32(PQftype(r, Int32($0)))) }
                    builder = try TableBuilder(source: description, names: names, kinds: kinds,
                                               duplicate: { "the query returns column '\($0)' twice; alias one of them" })
                }
                let count = Int(PQntuples(r))
                let width = numeric.count
                for row in 0..<count {
                    let t = Int32(row)
                    for i in 0..<width {
                        let c = Int32(i)
                        if PQgetisnull(r, t, c) != 0 { builder!.appendMissing(column: i); continue }
                        let p = PQgetvalue(r, t, c)!
                        if numeric[i] {
                            let x = strtod(p, nil)
                            if x.isFinite { builder!.append(number: x, column: i) }
                            else { builder!.append(text: String(cString: p), column: i) }
                        } else {
                            let len = Int(PQgetlength(r, t, c))
                            builder!.append(text: p.withMemoryRebound(to: UInt8.self, capacity: len) {
                                String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
                            }, column: i)
                        }
                    }
                    builder!.endRow()
                    if builder!.rowCount == rows { try body(builder!.flush()) }
                }
                return count
            }
            if got == 0 { break }
        }
        try db.execute("CLOSE credit_rows")
        try db.execute("COMMIT")
        // The last (or only) batch; an empty result still gives its columns once.
        if var b = builder, b.rowCount > 0 || b.flushed == 0 { try body(b.flush()) }
    }
}
