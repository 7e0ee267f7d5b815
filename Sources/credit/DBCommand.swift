import ArgumentParser
import CreditData
import CreditDomain
import Foundation

/// `credit db ...`: database utilities.
struct DB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Database utilities (restore a MySQL dump into an embedded database, copy tables to a server).",
        subcommands: [Restore.self, Copy.self]
    )

    /// `credit db restore --into sqlite:PATH DUMP.sql...`
    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore mysqldump files into an SQLite database (one transaction, streaming).",
            discussion: """
            Tables the dump defines must not exist in the database yet: a second restore into the \
            same file is refused unless --replace is given, which drops and recreates them. \
            Any error (malformed or truncated dump) leaves the database as it was.
            """
        )

        @Option(name: .long, help: "Target database, as sqlite:PATH.")
        var into: String

        @Flag(name: .long, help: "Replace tables that already exist (the dump's DROP TABLE is honoured).")
        var replace = false

        @Argument(help: "mysqldump files, restored in order.")
        var dumps: [String]

        func validate() throws {
            guard !dumps.isEmpty else { throw ValidationError("give at least one dump file") }
            guard into.hasPrefix("sqlite:"), into.count > 7 else {
                throw ValidationError("--into must be sqlite:PATH (got '\(into)')")
            }
        }

        func run() throws {
            let path = String(into.dropFirst("sqlite:".count))
            let start = Date()
            let summary = try DumpRestorer(replace: replace).restore(files: dumps, into: path)
            let seconds = Date().timeIntervalSince(start)
            for table in summary.tables {
                print("\(table.name): \(table.rows) rows")
            }
            print("restored \(summary.tables.count) tables from \(dumps.count) files into \(path) in "
                + String(format: "%.2f", seconds) + " s")
        }
    }

    /// `credit db copy --from sqlite:PATH --to postgres://...|mysql://... [--table T]...`:
    /// copies tables (e.g. a restored loan book) into a database server, replacing them there.
    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy tables of an SQLite database into a server database (postgres://, mysql://), replacing them there.",
            discussion: """
            Each column keeps its kind from the SQLite declared type (INTEGER/REAL → DOUBLE PRECISION \
            or DOUBLE, everything else → TEXT); NULL, '' and NA arrive as NULL, which is how every \
            source reads them anyway. --to may end in #schema to copy into that schema.
            """
        )

        @Option(help: "Source database, as sqlite:PATH.") var from: String
        @Option(help: "Target server: postgres://USER@HOST:PORT/DB[#schema] or mysql://USER@HOST:PORT/DB.") var to: String
        @Option(name: .customLong("table"), help: "A table to copy (repeatable; default: every table).") var tables: [String] = []
        @Option(name: .customLong("password-file"), help: "Password of the target: the file's first line.") var passwordFile: String?

        func run() throws {
            if let passwordFile { DatabaseCredentials.passwordFile = passwordFile }
            let source = try DataSources.open(from)
            var names = tables
            if names.isEmpty {
                let list = try source.read(query: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
                names = list.columns.first.map { c in (0..<list.rowCount).map { c.text(row: $0) } } ?? []
            }
            let hash = to.firstIndex(of: "#")
            let base = hash.map { String(to[..<$0]) } ?? to
            let schema = hash.map { String(to[to.index(after: $0)...]) }.flatMap { $0.isEmpty ? nil : $0 }
            for name in names {
                let quoted = "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                let info = try source.read(query: "SELECT name, type FROM pragma_table_info('\(name.replacingOccurrences(of: "'", with: "''"))')")
                guard info.rowCount > 0, let cols = info.column(named: "name"), let types = info.column(named: "type") else {
                    throw CommandFailure(description: "\(from) has no table \(name)")
                }
                var forced: [String: FeatureKind] = [:]
                for r in 0..<info.rowCount {
                    let t = types.isMissing(row: r) ? "" : types.text(row: r).uppercased()
                    forced[cols.text(row: r)] = (t.contains("INT") || t.contains("REAL") || t.contains("DOUB") || t.contains("FLOA")
                        || t.contains("DEC") || t.contains("NUM")) ? .numeric : .categorical
                }
                let table = try DataSources.open(from, kinds: ColumnKinds(forced: forced)).read(query: "SELECT * FROM \(quoted)")
                try DataSources.sink(base + "#" + (schema.map { "\($0).\(name)" } ?? name)).write(table)
                print("\(name): \(table.rowCount) rows")
            }
            print("copied \(names.count) tables from \(from) to \(DatabaseURL.redact(base))")
        }
    }
}
