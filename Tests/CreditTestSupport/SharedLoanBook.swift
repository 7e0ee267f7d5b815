import CreditDomain
import CreditData
import CreditDomain
import CreditModels
import Foundation

/// The shared loan book (../shared/data/alura-cash) through the real data layer: the four
/// MySQL dumps restored into a temporary SQLite file once per test process, read with the
/// example spec's join query. Tests that use it fail, never skip, when it is missing.
public enum SharedLoanBook {
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let dumpDir = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/alura-cash")
    public static let specPath = packageRoot.appendingPathComponent("examples/alura-cash/spec.json").path
    public static let anchorTestIDsPath = dumpDir.appendingPathComponent("anchor-split/test_loan_ids.txt").path

    public struct Book: Sendable {
        public var database: String
        public var spec: DatasetSpec
        public var raw: DataTable
        public var anchorTestIDs: Set<String>
    }

    private static let loaded: Result<Book, Error> = Result {
        let names = ["analise_risco_dados_mutuarios.sql", "analise_risco_emprestimos.sql",
                     "analise_risco_historicos_banco.sql", "analise_risco_ids.sql"]
        let dumps = names.map { dumpDir.appendingPathComponent($0).path }
        for p in dumps + [anchorTestIDsPath] where !FileManager.default.fileExists(atPath: p) {
            throw SharedDataMissing(path: p)
        }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("credit-models-shared-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let db = dir.appendingPathComponent("alura.db").path
        _ = try DumpRestorer().restore(files: dumps, into: db)
        let spec = try DatasetSpec.load(from: specPath)
        let raw = try DataSources.read("sqlite:\(db)", spec: spec)
        let ids = try String(contentsOfFile: anchorTestIDsPath, encoding: .utf8)
            .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return Book(database: db, spec: spec, raw: raw, anchorTestIDs: Set(ids))
    }

    public static func book() throws -> Book { try loaded.get() }

    /// Trains with the anchor protocol: the listed test ids held out; the other labelled rows
    /// cross-validated (`validation` nil: 5 folds, then a refit on all of them) or with that
    /// fraction (stratified, seeded) as a validation slice, for early stopping and the threshold,
    /// which is chosen for precision >= 0.80 (Wilson lower bound at 95 %).
    public static func anchorTraining(algorithm: String, seed: UInt64 = 42, validation: Double? = 0.2) throws -> TrainingOutcome {
        let book = try book()
        var o = TrainingOptions()
        o.algorithm = algorithm
        o.seed = seed
        o.validationFraction = validation
        o.testIDs = book.anchorTestIDs
        o.threshold = .minPrecision(0.80)
        return try Trainer.train(raw: book.raw, spec: book.spec, options: o)
    }
}

struct SharedDataMissing: Error, CustomStringConvertible {
    var path: String
    var description: String { "shared data missing: \(path) (the tests need ../shared/data/alura-cash beside the repository)" }
}
