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
        // MySQL commits DDL implicitly: the drop and create stand outside the transaction.
        try c.execute("DROP TABLE IF EXISTS \(c.dialect.qualified(table))")
        try c.execute(c.dialect.createTable(table, for: data, key: nil, ifNotExists: false))
        try SQLTableWrites.insertAll(data, into: table, over: c)
    }

    public func upsert(_ data: DataTable, key: String, batchRows: Int) throws {
        try SQLTableWrites.upsert(data, into: table, key: key, batchRows: batchRows, over: try db())
    }

    public func makeUpsertWriter(key: String, batchRows: Int) throws -> any TableWriter {
        SQLUpsertWriter(connection: try db(), table: table, key: key, batchRows: batchRows, description: description)
    }
}

extension MySQLConnection: SQLStatementConnection {
    var beginStatement: String { "START TRANSACTION" }
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
