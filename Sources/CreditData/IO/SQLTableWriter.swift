import CreditDomain
import Foundation

/// The SQL a database sink sends, for one dialect: the server drivers (CreditPostgres,
/// CreditMySQL) only execute these statements, so both sinks write the same tables.
///
/// Values go in as literals of multi-row INSERTs (one round trip per few hundred rows, no
/// per-row prepare): numbers in Swift's shortest round-trip form (exact), text escaped by the
/// driver's `literal` (libpq's or Connector/C's escaping, which knows the connection's
/// settings), missing as NULL.
public struct SQLDialect: Sendable {
    /// `"name"` (PostgreSQL) or `` `name` `` (MySQL), with the quote doubled inside.
    public var quote: @Sendable (String) -> String
    /// A text value as a literal (quotes included).
    public var literal: @Sendable (String) -> String
    public var numericType: String
    public var textType: String
    /// The type of a key column (MySQL cannot key a TEXT column).
    public var keyType: String
    /// The tail of an upsert, given the quoted key and the quoted other columns.
    public var upsert: @Sendable (_ key: String, _ others: [String]) -> String

    public init(quote: @escaping @Sendable (String) -> String, literal: @escaping @Sendable (String) -> String,
                numericType: String, textType: String, keyType: String,
                upsert: @escaping @Sendable (String, [String]) -> String) {
        self.quote = quote
        self.literal = literal
        self.numericType = numericType
        self.textType = textType
        self.keyType = keyType
        self.upsert = upsert
    }

    /// `schema.table` → each part quoted.
    public func qualified(_ name: String) -> String {
        name.split(separator: ".").map { quote(String($0)) }.joined(separator: ".")
    }

    /// CREATE TABLE [IF NOT EXISTS] for the table's columns; `key` becomes the primary key.
    public func createTable(_ name: String, for table: DataTable, key: String?, ifNotExists: Bool) -> String {
        var defs = table.columns.map { c -> String in
            let type = c.name == key ? keyType : (c.kind == .numeric ? numericType : textType)
            return "\(quote(c.name)) \(type)" + (c.name == key ? " NOT NULL" : "")
        }
        if let key { defs.append("PRIMARY KEY (\(quote(key)))") }
        return "CREATE TABLE \(ifNotExists ? "IF NOT EXISTS " : "")\(qualified(name)) (\(defs.joined(separator: ", ")))"
    }

    /// INSERT statements for `rows` of the table, at most `perStatement` rows each (with the
    /// upsert tail when `key` is given).
    public func inserts(into name: String, table: DataTable, rows: Range<Int>, key: String?, perStatement: Int = 500) -> [String] {
        let names = table.columns.map { quote($0.name) }
        let head = "INSERT INTO \(qualified(name)) (\(names.joined(separator: ", "))) VALUES "
        let tail = key.map { k in upsert(quote(k), table.columns.map(\.name).filter { $0 != k }.map(quote)) } ?? ""
        var out: [String] = []
        var start = rows.lowerBound
        while start < rows.upperBound {
            let end = min(start + perStatement, rows.upperBound)
            var sql = head
            sql.reserveCapacity(64 * (end - start) * max(1, names.count))
            for r in start..<end {
                if r > start { sql += "," }
                sql += "("
                for (i, c) in table.columns.enumerated() {
                    if i > 0 { sql += "," }
                    switch c.values {
                    case .numeric(let v):
                        if let x = v[r], x.isFinite { sql += "\(x)" } else { sql += "NULL" }
                    case .categorical(let v):
                        if let s = v[r] { sql += literal(s) } else { sql += "NULL" }
                    }
                }
                sql += ")"
            }
            out.append(sql + tail)
            start = end
        }
        return out
    }
}

/// A server connection a SQL sink writes through (PostgreSQL, MySQL/MariaDB drivers).
public protocol SQLStatementConnection: AnyObject {
    var dialect: SQLDialect { get }
    /// The statement that opens a transaction ("BEGIN", "START TRANSACTION").
    var beginStatement: String { get }
    func execute(_ sql: String) throws
}

/// The writes every SQL sink makes, written once: transactions, replace, upsert by id.
public enum SQLTableWrites {
    /// Runs `body` in one transaction; rolls back and rethrows on any error.
    public static func transaction(_ c: some SQLStatementConnection, _ body: () throws -> Void) throws {
        try c.execute(c.beginStatement)
        do {
            try body()
            try c.execute("COMMIT")
        } catch {
            try? c.execute("ROLLBACK")
            throw error
        }
    }

    /// Inserts all rows of `data` into `table` (already created) in one transaction.
    public static func insertAll(_ data: DataTable, into table: String, over c: some SQLStatementConnection) throws {
        try transaction(c) {
            for sql in c.dialect.inserts(into: table, table: data, rows: 0..<data.rowCount, key: nil) { try c.execute(sql) }
        }
    }

    /// Creates `table` keyed by `key` if missing, then inserts or updates `data` by `key` in
    /// transactions of `batchRows` rows: a rerun after a crash neither loses nor duplicates.
    public static func upsert<C: SQLStatementConnection>(_ data: DataTable, into table: String, key: String, batchRows: Int, over c: C) throws {
        try SQLUpsertWriter(connection: c, table: table, key: key, batchRows: batchRows, description: table).append(data)
    }
}
