import CreditDomain
import Foundation
import GRDB
#if canImport(GRDBSQLite)
import GRDBSQLite
#elseif canImport(SQLite3)
import SQLite3
#endif

/// `sqlite:PATH`: runs a query on an SQLite database file (read-only) and types the result.
///
/// SQL `NULL`, `''`, `'NA'` and `'NULL'` are missing. Integer and real cells are numbers;
/// text cells are numbers when they parse as one. See `ColumnKinds` for the kind rule and
/// `DataSource` for kinds across batches. Rows are stepped through a GRDB row cursor, so a
/// batch is built while the statement runs and no more than one batch is held.
public struct SQLiteSource: DataSource {
    public var path: String
    public var kinds: ColumnKinds

    public init(path: String, kinds: ColumnKinds = ColumnKinds()) {
        self.path = path
        self.kinds = kinds
    }

    public var description: String { "sqlite:\(path)" }

    public func count(query: String?) throws -> Int? {
        guard let sql = Self.countSQL(query), FileManager.default.fileExists(atPath: path) else { return nil }
        var config = Configuration()
        config.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: config)
        defer { try? queue.close() }
        return try queue.read { db in try Int.fetchOne(db, sql: sql) }
    }

    public func forEachBatch(query: String?, rows: Int, _ body: (DataTable) throws -> Void) throws {
        precondition(rows > 0, "forEachBatch: rows must be > 0")
        guard let query, !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw DataSourceError.queryRequired(source: description)
        }
        guard FileManager.default.fileExists(atPath: path) else { throw DataSourceError.fileNotFound(path) }
        var config = Configuration()
        config.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            defer { try? queue.close() }
            try queue.read { db in
                let statement = try db.makeStatement(sql: query)
                var builder = try TableBuilder(source: description, names: statement.columnNames, kinds: kinds,
                                               duplicate: { "the query returns column '\($0)' twice; alias one of them" })
                // GRDB's cursor steps the statement (and reports its errors); the cells are read
                // with SQLite's C API: GRDB's Row accessors cost ~10x more per cell, and a loan
                // book is rows × columns cells.
                let stmt = statement.sqliteStatement
                let width = builder.names.count
                let cursor = try Row.fetchCursor(statement)
                while try cursor.next() != nil {
                    for i in 0..<width {
                        let c = Int32(i)
                        switch sqlite3_column_type(stmt, c) {
                        case SQLITE_NULL: builder.appendMissing(column: i)
                        case SQLITE_INTEGER: builder.append(number: Double(sqlite3_column_int64(stmt, c)), column: i)
                        case SQLITE_FLOAT: builder.append(number: sqlite3_column_double(stmt, c), column: i)
                        default:
                            if let p = sqlite3_column_text(stmt, c) {
                                let n = Int(sqlite3_column_bytes(stmt, c))
                                builder.append(text: String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self), column: i)
                            } else {
                                builder.appendMissing(column: i)
                            }
                        }
                    }
                    builder.endRow()
                    if builder.rowCount == rows { try body(builder.flush()) }
                }
                // The last (or only) batch; an empty result still gives its columns once.
                if builder.rowCount > 0 || builder.flushed == 0 { try body(builder.flush()) }
            }
        } catch let e as DataSourceError {
            throw e
        } catch let e as DatabaseError {
            throw DataSourceError.failed(source: description, message: e.message ?? "\(e)")
        }
    }
}

/// `sqlite:PATH[#table]`: writes a table into an SQLite database (default table `data`),
/// replacing a table of that name in one transaction. Numeric columns are REAL (whole
/// numbers are stored as INTEGER values), categorical columns TEXT; missing is NULL.
/// `makeWriter()` writes batch by batch inside that one transaction (committed by `finish()`).
public struct SQLiteSink: StreamingSink {
    public var path: String
    public var table: String

    public init(path: String, table: String = "data") {
        self.path = path
        self.table = table.isEmpty ? "data" : table
    }

    public var description: String { "sqlite:\(path)#\(table)" }

    public func write(_ data: DataTable) throws {
        let w = try SQLiteWriter(sink: self)
        try w.append(data)
        try w.finish()
    }

    public func makeWriter() throws -> any TableWriter { try SQLiteWriter(sink: self) }
}

/// The SQLite sink's batch writer: one connection and one transaction from the first batch
/// (drop, create, inserts) to `finish()` (commit). `rowsWritten` counts committed rows.
final class SQLiteWriter: TableWriter {
    let sink: SQLiteSink
    private let queue: DatabaseQueue
    private var statement: Statement?
    private var appended = 0
    private(set) var rowsWritten = 0

    init(sink: SQLiteSink) throws {
        self.sink = sink
        do {
            // The transaction spans the appends (GRDB checks none is left open otherwise).
            var config = Configuration()
            config.allowsUnsafeTransactions = true
            queue = try DatabaseQueue(path: sink.path, configuration: config)
        } catch let e as DatabaseError {
            throw DataSourceError.failed(source: sink.description, message: e.message ?? "\(e)")
        }
    }

    deinit {
        if statement != nil { try? queue.inDatabase { db in try db.execute(sql: "ROLLBACK") } }
        try? queue.close()
    }

    var description: String { sink.description }

    func append(_ data: DataTable) throws {
        let table = sink.table
        do {
            try queue.inDatabase { db in
                if statement == nil {
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    try db.execute(sql: "DROP TABLE IF EXISTS \(quoteIdentifier(table))")
                    let defs = data.columns.map {
                        "\(quoteIdentifier($0.name)) \($0.kind == .numeric ? "REAL" : "TEXT")"
                    }.joined(separator: ", ")
                    try db.execute(sql: "CREATE TABLE \(quoteIdentifier(table)) (\(defs))")
                    let sql = "INSERT INTO \(quoteIdentifier(table)) VALUES ("
                        + Array(repeating: "?", count: data.columns.count).joined(separator: ",") + ")"
                    statement = try db.makeStatement(sql: sql)
                }
                // Bind and step through SQLite's C API (GRDB's argument path is ~10x slower).
                let stmt = statement!.sqliteStatement
                for row in 0..<data.rowCount {
                    for (i, column) in data.columns.enumerated() {
                        let p = Int32(i + 1)
                        switch column.values {
                        case .numeric(let v):
                            if let x = v[row] {
                                if x == x.rounded() && abs(x) < 9e15 { sqlite3_bind_int64(stmt, p, Int64(x)) }
                                else { sqlite3_bind_double(stmt, p, x) }
                            } else {
                                sqlite3_bind_null(stmt, p)
                            }
                        case .categorical(let v):
                            if let s = v[row] { sqlite3_bind_text(stmt, p, s, -1, sqliteTransientDestructor) }
                            else { sqlite3_bind_null(stmt, p) }
                        }
                    }
                    let rc = sqlite3_step(stmt)
                    sqlite3_reset(stmt)
                    guard rc == SQLITE_DONE else {
                        throw DataSourceError.failed(source: description, message:
                            "row \(appended + row + 1): " + String(cString: sqlite3_errmsg(db.sqliteConnection)))
                    }
                }
            }
            appended += data.rowCount
        } catch let e as DatabaseError {
            throw DataSourceError.failed(source: description, message: e.message ?? "\(e)")
        }
    }

    func finish() throws {
        guard statement != nil else { return }
        do {
            try queue.inDatabase { db in
                statement = nil
                try db.execute(sql: "COMMIT")
            }
        } catch let e as DatabaseError {
            throw DataSourceError.failed(source: description, message: e.message ?? "\(e)")
        }
        rowsWritten = appended
    }
}

/// SQLite copies bound text before `sqlite3_bind_text` returns.
let sqliteTransientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
