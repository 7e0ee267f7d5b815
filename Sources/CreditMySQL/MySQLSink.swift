import CreditData
import CreditDomain
import Foundation

/// `mysql://USER@HOST:PORT/DB#table` (default table `data`) as a sink.
///
/// `write` replaces the table (drop, create, insert in one transaction; MySQL commits DDL
/// implicitly, so only the rows are atomic); `upsert` (what `credit score` uses) creates the
/// table if missing, keyed by the id (VARCHAR(255)), and inserts or updates by id in
/// transactions of `batchRows` rows, so a rerun neither loses nor duplicates rows. Numeric
/// columns are DOUBLE, the others TEXT. One connection serves every call.
public final class MySQLSink: UpsertingSink {
    public let url: DatabaseURL
    public let table: String
    private var connection: MySQLConnection?

    public init(location: String) throws {
        url = try DatabaseURL(location)
        let t = url.fragment ?? ""
        table = t.isEmpty ? "data" : t
    }

    public var description: String { url.description }

    private func db() throws -> MySQLConnection {
        if let connection { return connection }
        let c = try MySQLConnection(url)
        connection = c
        return c
    }

    public func write(_ data: DataTable) throws {
        let c = try db()
        let d = c.dialect
        try c.execute("DROP TABLE IF EXISTS \(d.qualified(table))")
        try c.execute(d.createTable(table, for: data, key: nil, ifNotExists: false))
        try c.execute("START TRANSACTION")
        do {
            for sql in d.inserts(into: table, table: data, rows: 0..<data.rowCount, key: nil) { try c.execute(sql) }
            try c.execute("COMMIT")
        } catch {
            try? c.execute("ROLLBACK")
            throw error
        }
    }

    public func upsert(_ data: DataTable, key: String, batchRows: Int) throws {
        let c = try db()
        let d = c.dialect
        try c.execute(d.createTable(table, for: data, key: key, ifNotExists: true))
        var start = 0
        while start < data.rowCount {
            let end = min(start + max(1, batchRows), data.rowCount)
            try c.execute("START TRANSACTION")
            do {
                for sql in d.inserts(into: table, table: data, rows: start..<end, key: key) { try c.execute(sql) }
                try c.execute("COMMIT")
            } catch {
                try? c.execute("ROLLBACK")
                throw error
            }
            start = end
        }
    }
}

/// Registers `mysql://` and `mariadb://` as source and sink schemes (the `credit` executable
/// calls this; the daemon never links the driver).
public enum MySQLDriver {
    public static func register() {
        for scheme in ["mysql", "mariadb"] {
            DataSources.register(scheme: scheme, source: { location, kinds in try MySQLSource(location: location, kinds: kinds) })
            DataSources.register(scheme: scheme, sink: { location in try MySQLSink(location: location) })
        }
    }
}
