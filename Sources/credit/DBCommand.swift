import ArgumentParser
import CreditData
import Foundation

/// `credit db ...`: database utilities.
struct DB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Database utilities (restore a MySQL dump into an embedded database).",
        subcommands: [Restore.self]
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
}
