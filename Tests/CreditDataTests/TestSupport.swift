import Foundation
import Testing
@testable import CreditData

/// Paths and helpers shared by the data tests.
enum TestPaths {
    /// The package root (two levels above this file's folder).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let exampleSpec = packageRoot.appendingPathComponent("examples/alura-cash/spec.json").path
    static let exampleJoin = packageRoot.appendingPathComponent("examples/alura-cash/join.sql").path

    /// `../shared/data/alura-cash` next to the package root.
    static let sharedDumpDir = packageRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/data/alura-cash")

    /// The four shared dumps; records a failure (never a skip) when they are missing.
    static func sharedDumps() throws -> [String] {
        let names = ["analise_risco_dados_mutuarios.sql", "analise_risco_emprestimos.sql",
                     "analise_risco_historicos_banco.sql", "analise_risco_ids.sql"]
        let paths = names.map { sharedDumpDir.appendingPathComponent($0).path }
        for p in paths {
            try #require(FileManager.default.fileExists(atPath: p),
                         "shared data missing: \(p) (the tests need ../shared/data/alura-cash)")
        }
        return paths
    }

    /// A fresh temporary directory.
    static func tempDir(_ name: String = #function) throws -> URL {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("credit-data-tests-\(safe)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Restores the shared dumps once per test process (the restore takes seconds).
enum SharedDatabase {
    private static let restored: Result<String, Error> = Result {
        let dumps = try TestPaths.sharedDumps()
        let dir = try TestPaths.tempDir("shared")
        let db = dir.appendingPathComponent("alura.db").path
        _ = try DumpRestorer().restore(files: dumps, into: db)
        return db
    }

    static func path() throws -> String { try restored.get() }
}

/// Runs one SQL scalar query (for direct-count comparisons).
func sqlScalar(_ db: String, _ sql: String) throws -> Int {
    let t = try SQLiteSource(path: db).read(query: sql)
    let v = try #require(t.columns.first?.numericValues?.first ?? nil, "no number from \(sql)")
    return Int(v)
}
