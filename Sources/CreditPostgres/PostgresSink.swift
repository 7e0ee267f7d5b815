import CreditData
import CreditDomain
import Foundation

/// `postgres://USER@HOST:PORT/DB#[schema.]table` (default table `data`) as a sink.
///
/// `write` replaces the table in one transaction (drop, create, insert), like the SQLite
/// sink; `upsert` (what `credit score` uses) creates the table if missing, keyed by the id,
/// and inserts or updates rows by id in transactions of `batchRows` rows, so a rerun after a
/// crash neither loses nor duplicates rows. Numeric columns are DOUBLE PRECISION, the others
/// TEXT. One connection serves every call (opened on the first).
public final class PostgresSink: UpsertingSink {
    public let url: DatabaseURL
    public let table: String
    private var connection: PostgresConnection?

    public init(location: String) throws {
        url = try DatabaseURL(location)
        let t = url.fragment ?? ""
        table = t.isEmpty ? "data" : t
    }

    public var description: String { url.description }

    private func db() throws -> PostgresConnection {
        if let connection { return connection }
        let c = try PostgresConnection(url)
        // The dialect's literals double quotes only; make sure backslashes are plain.
        try c.execute("SET standard_conforming_strings = on")
        try c.execute("SET client_min_messages = warning")
        connection = c
        return c
    }

    public func write(_ data: DataTable) throws {
        let c = try db()
        // PostgreSQL's DDL is transactional: the whole replacement is one transaction.
        try SQLTableWrites.transaction(c) {
            try c.execute("DROP TABLE IF EXISTS \(c.dialect.qualified(table))")
            try c.execute(c.dialect.createTable(table, for: data, key: nil, ifNotExists: false))
            for sql in c.dialect.inserts(into: table, table: data, rows: 0..<data.rowCount, key: nil) { try c.execute(sql) }
        }
    }

    public func upsert(_ data: DataTable, key: String, batchRows: Int) throws {
        try SQLTableWrites.upsert(data, into: table, key: key, batchRows: batchRows, over: try db())
    }

    public func makeUpsertWriter(key: String, batchRows: Int) throws -> any TableWriter {
        SQLUpsertWriter(connection: try db(), table: table, key: key, batchRows: batchRows, description: description)
    }
}

extension PostgresConnection: SQLStatementConnection {
    var beginStatement: String { "BEGIN" }
}

/// Registers `postgres://` and `postgresql://` as source and sink schemes (the `credit`
/// executable calls this; the daemon never links the driver).
public enum PostgresDriver {
    public static func register() {
        for scheme in ["postgres", "postgresql"] {
            DataSources.register(scheme: scheme, source: { location, kinds in try PostgresSource(location: location, kinds: kinds) })
            DataSources.register(scheme: scheme, sink: { location in try PostgresSink(location: location) })
        }
    }
}
