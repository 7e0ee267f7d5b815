import Foundation
import GRDB
#if canImport(GRDBSQLite)
import GRDBSQLite
#elseif canImport(SQLite3)
import SQLite3
#endif

/// A dump that cannot be restored: which file, which line, and what was expected.
public struct DumpRestoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }
}

/// What a restore did: rows inserted per table, in the order the tables were created.
public struct RestoreSummary: Sendable, Equatable, CustomStringConvertible {
    public struct Table: Sendable, Equatable {
        public var name: String
        public var rows: Int
        /// Column names and the SQLite affinity each MySQL type was mapped to.
        public var columns: [(name: String, affinity: String)]

        public static func == (a: Table, b: Table) -> Bool {
            a.name == b.name && a.rows == b.rows
                && a.columns.map(\.name) == b.columns.map(\.name)
                && a.columns.map(\.affinity) == b.columns.map(\.affinity)
        }
    }

    public var tables: [Table]
    public var files: [String]

    public func rows(in table: String) -> Int? { tables.first { $0.name == table }?.rows }

    public var description: String {
        tables.map { "\($0.name): \($0.rows) rows" }.joined(separator: "\n")
    }
}

/// Restores `mysqldump` output into an SQLite database (through GRDB), streaming.
///
/// Understood: `--`/`#` comments, `/* */` comments and `/*!NNNNN ... */` directives (ignored),
/// `use db;`, `SET ...;`, `CREATE DATABASE`, `LOCK TABLES`/`UNLOCK TABLES`,
/// `START TRANSACTION`/`COMMIT` (ignored), `DROP TABLE [IF EXISTS]`,
/// `CREATE TABLE` with backquoted names and MySQL types (index and key clauses and
/// table options are skipped), and `INSERT [IGNORE] INTO t [(cols)] VALUES (...),(...);`
/// with quoted strings, backslash escapes, numbers and `NULL`.
///
/// Memory does not grow with the dump: files are read in 64 KiB chunks, tokenized
/// incrementally, and each tuple is bound to a prepared statement reused for the whole
/// `INSERT` (a 1 MB single-line `INSERT` never exists as one string).
///
/// All files are restored in one transaction: any error (malformed statement, truncated
/// file, unknown table) rolls everything back and the database is left as it was (a
/// database file that did not exist before is removed again).
///
/// Tables that already exist: by default a dump that would drop or create a table the
/// database already has is refused (`DumpRestoreError` naming the table and `--replace`).
/// With `replace: true` the dump's `DROP TABLE` runs and the table is created anew.
public struct DumpRestorer {
    public var replace: Bool

    public init(replace: Bool = false) {
        self.replace = replace
    }

    /// Maps a MySQL column type name to an SQLite affinity:
    /// integer types → INTEGER, double/float/decimal → REAL, char/text/enum/date... → TEXT,
    /// blob/binary → BLOB. Unknown types get TEXT.
    public static func sqliteAffinity(mysqlType: String) -> String {
        switch mysqlType.lowercased() {
        case "int", "integer", "tinyint", "smallint", "mediumint", "bigint", "bit", "bool", "boolean", "year",
             "serial":
            return "INTEGER"
        case "double", "float", "real", "decimal", "numeric", "dec", "fixed":
            return "REAL"
        case "blob", "tinyblob", "mediumblob", "longblob", "binary", "varbinary":
            return "BLOB"
        default:
            return "TEXT"
        }
    }

    /// Restores the dump files, in order, into the SQLite database at `databasePath`.
    public func restore(files: [String], into databasePath: String) throws -> RestoreSummary {
        let existedBefore = FileManager.default.fileExists(atPath: databasePath)
        do {
            let queue = try DatabaseQueue(path: databasePath)
            var summary = RestoreSummary(tables: [], files: files)
            try queue.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    var session = RestoreSession(db: db, replace: replace)
                    for file in files {
                        try session.restore(file: file)
                    }
                    summary.tables = session.tables
                    return .commit
                }
            }
            try queue.close()
            return summary
        } catch {
            if !existedBefore {
                try? FileManager.default.removeItem(atPath: databasePath)
            }
            if let e = error as? DumpRestoreError { throw e }
            throw DumpRestoreError(file: files.first ?? databasePath, line: 0, message: "\(error)")
        }
    }
}

/// State of one restore (one transaction) across files.
private struct RestoreSession {
    let db: Database
    let replace: Bool
    var tables: [RestoreSummary.Table] = []
    /// Tables created during this restore (a later DROP of them is allowed without --replace).
    var createdHere: Set<String> = []

    init(db: Database, replace: Bool) {
        self.db = db
        self.replace = replace
    }

    mutating func restore(file: String) throws {
        let tokens = try DumpTokenizer(path: file)
        while true {
            let first = try tokens.next()
            switch first {
            case .endOfFile:
                return
            case .symbol(0x3B): // empty statement (left by a /*! */ directive followed by ';')
                continue
            case .word(let w):
                do {
                    try statement(keyword: w.uppercased(), tokens)
                } catch let e as DatabaseError {
                    throw tokens.error("SQLite rejected the \(w.uppercased()) statement: \(e.message ?? "\(e)")")
                }
            default:
                throw tokens.error("expected a statement (CREATE, INSERT, DROP, ...), found \(first.display)")
            }
        }
    }

    // MARK: statements

    private mutating func statement(keyword: String, _ t: DumpTokenizer) throws {
        switch keyword {
        case "USE", "SET", "LOCK", "UNLOCK", "START", "COMMIT", "BEGIN", "ROLLBACK":
            try skipStatement(t)
        case "DROP":
            try dropStatement(t)
        case "CREATE":
            let what = try t.next()
            switch what.keyword {
            case "TABLE": try createTable(t)
            case "DATABASE", "SCHEMA": try skipStatement(t)
            default: throw t.error("expected TABLE or DATABASE after CREATE, found \(what.display)")
            }
        case "INSERT":
            try insert(t)
        default:
            throw t.error("unsupported statement '\(keyword)'; expected CREATE TABLE, INSERT, DROP TABLE, "
                + "LOCK/UNLOCK TABLES, SET or USE")
        }
    }

    /// Skips to the terminating ';' (or end of file, which is fine only for trailing statements).
    private func skipStatement(_ t: DumpTokenizer) throws {
        let start = t.tokenLine
        while true {
            let tok = try t.next()
            if tok == .symbol(0x3B) { return }
            if tok == .endOfFile {
                throw t.error("unexpected end of file in the statement started on line \(start); expected ';'",
                              line: t.currentLine)
            }
        }
    }

    private func name(_ t: DumpTokenizer, what: String) throws -> String {
        var tok = try t.next()
        var name: String
        switch tok {
        case .identifier(let s), .word(let s): name = s
        default: throw t.error("expected \(what) name, found \(tok.display)")
        }
        // db.table: keep the table part.
        if try t.peek() == .symbol(0x2E) {
            _ = try t.next()
            tok = try t.next()
            switch tok {
            case .identifier(let s), .word(let s): name = s
            default: throw t.error("expected \(what) name after '.', found \(tok.display)")
            }
        }
        return name
    }

    private func expect(_ t: DumpTokenizer, symbol: UInt8, context: String) throws {
        let tok = try t.next()
        guard tok == .symbol(symbol) else {
            let line = tok == .endOfFile ? t.currentLine : t.tokenLine
            throw t.error("expected '\(Character(UnicodeScalar(symbol)))' \(context), found \(tok.display)", line: line)
        }
    }

    private func tableExists(_ name: String) throws -> Bool {
        try db.tableExists(name)
    }

    private func refuse(_ table: String, _ t: DumpTokenizer) -> DumpRestoreError {
        t.error("table '\(table)' already exists in the database; nothing was restored "
            + "(restore into a new file, or pass --replace to replace the tables the dump defines)")
    }

    private mutating func dropStatement(_ t: DumpTokenizer) throws {
        let what = try t.next()
        guard what.keyword == "TABLE" else {
            throw t.error("expected TABLE after DROP, found \(what.display)")
        }
        if try t.peek().keyword == "IF" {
            _ = try t.next()
            let e = try t.next()
            guard e.keyword == "EXISTS" else { throw t.error("expected EXISTS after DROP TABLE IF, found \(e.display)") }
        }
        var names: [String] = []
        while true {
            names.append(try name(t, what: "table"))
            guard try t.peek() == .symbol(0x2C) else { break }
            _ = try t.next()
        }
        try expect(t, symbol: 0x3B, context: "after DROP TABLE")
        for n in names where try tableExists(n) {
            guard replace || createdHere.contains(n) else { throw refuse(n, t) }
            try db.execute(sql: "DROP TABLE \(quoteIdentifier(n))")
            tables.removeAll { $0.name == n }
        }
    }

    private mutating func createTable(_ t: DumpTokenizer) throws {
        let line = t.tokenLine
        if try t.peek().keyword == "IF" {
            _ = try t.next()
            _ = try t.next() // NOT
            _ = try t.next() // EXISTS
        }
        let table = try name(t, what: "table")
        try expect(t, symbol: 0x28, context: "after CREATE TABLE \(table)")
        var columns: [(name: String, affinity: String)] = []
        var definitionsEnded = false
        while !definitionsEnded {
            let first = try t.next()
            let columnName: String?
            switch first {
            case .identifier(let s):
                columnName = s
            case .word(let w):
                let k = w.uppercased()
                let clauses: Set = ["PRIMARY", "KEY", "UNIQUE", "INDEX", "CONSTRAINT", "FOREIGN", "FULLTEXT",
                                    "SPATIAL", "CHECK"]
                columnName = clauses.contains(k) ? nil : w
            case .endOfFile:
                throw t.error("unexpected end of file in CREATE TABLE \(table); expected a column definition",
                              line: t.currentLine)
            default:
                throw t.error("expected a column name in CREATE TABLE \(table), found \(first.display)")
            }
            var affinity: String?
            if columnName != nil {
                let type = try t.next()
                guard case .word(let typeName) = type else {
                    throw t.error("expected a type for column \(columnName!) of \(table), found \(type.display)")
                }
                affinity = DumpRestorer.sqliteAffinity(mysqlType: typeName)
            }
            // Skip the rest of the definition up to ',' or the closing ')' at depth 0.
            var depth = 0
            scan: while true {
                let tok = try t.next()
                switch tok {
                case .symbol(0x28): depth += 1
                case .symbol(0x29):
                    if depth == 0 { definitionsEnded = true; break scan }
                    depth -= 1
                case .symbol(0x2C) where depth == 0: break scan
                case .endOfFile:
                    throw t.error("unexpected end of file in CREATE TABLE \(table) (started on line \(line)); "
                        + "expected ',' or ')'", line: t.currentLine)
                case .symbol(0x3B):
                    throw t.error("unexpected ';' in CREATE TABLE \(table); expected ',' or ')'")
                default: break
                }
            }
            if let columnName, let affinity { columns.append((columnName, affinity)) }
        }
        try skipStatement(t) // table options: ENGINE=... DEFAULT CHARSET=...
        guard !columns.isEmpty else { throw t.error("CREATE TABLE \(table) defines no columns", line: line) }
        if try tableExists(table) {
            guard replace || createdHere.contains(table) else { throw refuse(table, t) }
            try db.execute(sql: "DROP TABLE \(quoteIdentifier(table))")
            tables.removeAll { $0.name == table }
        }
        let defs = columns.map { "\(quoteIdentifier($0.name)) \($0.affinity)" }.joined(separator: ", ")
        try db.execute(sql: "CREATE TABLE \(quoteIdentifier(table)) (\(defs))")
        createdHere.insert(table)
        tables.append(.init(name: table, rows: 0, columns: columns))
    }

    private mutating func insert(_ t: DumpTokenizer) throws {
        let startLine = t.tokenLine
        var tok = try t.next()
        if tok.keyword == "IGNORE" { tok = try t.next() }
        guard tok.keyword == "INTO" else { throw t.error("expected INTO after INSERT, found \(tok.display)") }
        let table = try name(t, what: "table")
        guard let tableIndex = tables.firstIndex(where: { $0.name == table }) else {
            if try tableExists(table) { throw refuse(table, t) }
            throw t.error("INSERT into table '\(table)', which no CREATE TABLE defined before it")
        }
        var columnNames = tables[tableIndex].columns.map(\.name)
        if try t.peek() == .symbol(0x28) {
            _ = try t.next()
            var listed: [String] = []
            while true {
                listed.append(try name(t, what: "column"))
                let sep = try t.next()
                if sep == .symbol(0x29) { break }
                guard sep == .symbol(0x2C) else {
                    throw t.error("expected ',' or ')' in the column list of INSERT INTO \(table), found \(sep.display)")
                }
            }
            columnNames = listed
        }
        tok = try t.next()
        guard tok.keyword == "VALUES" || tok.keyword == "VALUE" else {
            throw t.error("expected VALUES in INSERT INTO \(table), found \(tok.display)")
        }
        let width = columnNames.count
        let placeholders = Array(repeating: "?", count: width).joined(separator: ",")
        let sql = "INSERT INTO \(quoteIdentifier(table)) (\(columnNames.map(quoteIdentifier).joined(separator: ","))) "
            + "VALUES (\(placeholders))"
        let statement = try db.makeStatement(sql: sql)
        // Bind and step through SQLite's C API: one prepared statement for every tuple.
        let stmt = statement.sqliteStatement
        var rows = 0
        while true {
            try expect(t, symbol: 0x28, context: "to open a row of INSERT INTO \(table) (started on line \(startLine))")
            let tupleLine = t.tokenLine
            var count = 0
            while true {
                let v = try value(t, table: table)
                count += 1
                if count <= width {
                    let i = Int32(count)
                    switch v {
                    case .null: sqlite3_bind_null(stmt, i)
                    case .int(let x): sqlite3_bind_int64(stmt, i, x)
                    case .double(let x): sqlite3_bind_double(stmt, i, x)
                    case .text(let x): sqlite3_bind_text(stmt, i, x, -1, sqliteTransientDestructor)
                    }
                }
                let sep = try t.next()
                if sep == .symbol(0x29) { break }
                guard sep == .symbol(0x2C) else {
                    let line = sep == .endOfFile ? t.currentLine : t.tokenLine
                    throw t.error("expected ',' or ')' in a row of INSERT INTO \(table), found \(sep.display)",
                                  line: line)
                }
            }
            guard count == width else {
                throw t.error("a row of INSERT INTO \(table) has \(count) values; expected \(width) "
                    + "(\(columnNames.joined(separator: ", ")))", line: tupleLine)
            }
            let rc = sqlite3_step(stmt)
            sqlite3_reset(stmt)
            guard rc == SQLITE_DONE else {
                throw t.error("SQLite rejected a row of INSERT INTO \(table): "
                    + String(cString: sqlite3_errmsg(db.sqliteConnection)), line: tupleLine)
            }
            rows += 1
            let sep = try t.next()
            if sep == .symbol(0x3B) { break }
            guard sep == .symbol(0x2C) else {
                let line = sep == .endOfFile ? t.currentLine : t.tokenLine
                throw t.error("expected ',' or ';' after a row of INSERT INTO \(table) (started on line \(startLine)), "
                    + "found \(sep.display)", line: line)
            }
        }
        tables[tableIndex].rows += rows
    }

    private enum Cell {
        case null
        case int(Int64)
        case double(Double)
        case text(String)
    }

    private func value(_ t: DumpTokenizer, table: String) throws -> Cell {
        var tok = try t.next()
        var negative = false
        if tok == .symbol(0x2D) || tok == .symbol(0x2B) {
            negative = tok == .symbol(0x2D)
            tok = try t.next()
        }
        switch tok {
        case .string(let s):
            return .text(s)
        case .number(let n):
            if let i = Int64(n) { return .int(negative ? -i : i) }
            if let d = Double(n) { return .double(negative ? -d : d) }
            if n.hasPrefix("0x"), let i = Int64(n.dropFirst(2), radix: 16) { return .int(i) }
            throw t.error("malformed number '\(n)' in INSERT INTO \(table)")
        case .word(let w):
            switch w.uppercased() {
            case "NULL": return .null
            case "TRUE": return .int(1)
            case "FALSE": return .int(0)
            case "_BINARY", "_UTF8MB4", "_UTF8", "_LATIN1":
                return try value(t, table: table)
            default: break
            }
            throw t.error("expected a value (string, number or NULL) in INSERT INTO \(table), found \(tok.display)")
        case .endOfFile:
            throw t.error("unexpected end of file in INSERT INTO \(table); expected a value", line: t.currentLine)
        default:
            throw t.error("expected a value (string, number or NULL) in INSERT INTO \(table), found \(tok.display)")
        }
    }
}

/// Quotes an SQL identifier for SQLite ("name", with embedded quotes doubled).
func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
