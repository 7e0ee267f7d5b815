import CMariaDB
import CreditData
import CreditDomain
import Foundation

/// `mysql://USER@HOST:PORT/DB` (also `mariadb://`): runs a query on a MySQL or MariaDB server
/// and types the result.
///
/// The rows stream with `mysql_use_result` (the server sends rows as they are read; nothing
/// is buffered client-side beyond one row), so memory holds one batch. Types map as the dump
/// restore maps them: integer types, DECIMAL, FLOAT and DOUBLE are numbers; every other type
/// is text (a text that parses as a number counts as one, see `TableBuilder`); NULL and ''
/// are missing.
public struct MySQLSource: DataSource {
    public var url: DatabaseURL
    public var kinds: ColumnKinds

    public init(location: String, kinds: ColumnKinds = ColumnKinds()) throws {
        url = try DatabaseURL(location)
        self.kinds = kinds
    }

    public var description: String { url.description }

    static func isNumeric(_ t: enum_field_types) -> Bool {
        switch t {
        case MYSQL_TYPE_TINY, MYSQL_TYPE_SHORT, MYSQL_TYPE_LONG, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_INT24,
             MYSQL_TYPE_FLOAT, MYSQL_TYPE_DOUBLE, MYSQL_TYPE_DECIMAL, MYSQL_TYPE_NEWDECIMAL:
            return true
        default:
            return false
        }
    }

    public func count(query: String?) throws -> Int? {
        guard let sql = Self.countSQL(query) else { return nil }
        let db = try MySQLConnection(url)
        guard mysql_real_query(db.mysql, sql, UInt(sql.utf8.count)) == 0 else { throw db.lastError() }
        guard let result = mysql_store_result(db.mysql) else { throw db.lastError() }
        defer { mysql_free_result(result) }
        guard let row = mysql_fetch_row(result), let p = row[0] else { return nil }
        return Int(String(cString: p))
    }

    public func forEachBatch(query: String?, rows: Int, _ body: (DataTable) throws -> Void) throws {
        precondition(rows > 0, "forEachBatch: rows must be > 0")
        guard var sql = query?.trimmingCharacters(in: .whitespacesAndNewlines), !sql.isEmpty else {
            throw DataSourceError.queryRequired(source: description)
        }
        while sql.hasSuffix(";") { sql = String(sql.dropLast()).trimmingCharacters(in: .whitespacesAndNewlines) }
        let db = try MySQLConnection(url)
        guard mysql_real_query(db.mysql, sql, UInt(sql.utf8.count)) == 0 else { throw db.lastError() }
        guard let result = mysql_use_result(db.mysql) else {
            if mysql_field_count(db.mysql) == 0 {
                throw DataSourceError.failed(source: description, message: "the statement returns no rows")
            }
            throw db.lastError()
        }
        defer { mysql_free_result(result) }
        let width = Int(mysql_num_fields(result))
        let fields = mysql_fetch_fields(result)!
        let names = (0..<width).map { String(cString: fields[$0].name) }
        let numeric = (0..<width).map { Self.isNumeric(fields[$0].type) }
        var builder = try TableBuilder(source: description, names: names, kinds: kinds,
                                       duplicate: { "the query returns column '\($0)' twice; alias one of them" })
        while let row = mysql_fetch_row(result) {
            let lengths = mysql_fetch_lengths(result)!
            for i in 0..<width {
                guard let p = row[i] else { builder.appendMissing(column: i); continue }
                if numeric[i] {
                    let x = strtod(p, nil)
                    if x.isFinite { builder.append(number: x, column: i) } else { builder.append(text: String(cString: p), column: i) }
                } else {
                    let len = Int(lengths[i])
                    builder.append(text: p.withMemoryRebound(to: UInt8.self, capacity: len) {
                        String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
                    }, column: i)
                }
            }
            builder.endRow()
            if builder.rowCount == rows { try body(builder.flush()) }
        }
        // mysql_fetch_row returns NULL at the end and on an error (a dropped connection).
        if mysql_errno(db.mysql) != 0 { throw db.lastError() }
        if builder.rowCount > 0 || builder.flushed == 0 { try body(builder.flush()) }
    }
}
