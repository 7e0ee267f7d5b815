import ArgumentParser
import CreditData
import Foundation

/// `credit synth --rows N --seed S --out sqlite:PATH|csv:PATH|mysqldump:PATH`
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a synthetic, realistic and dirty loan book (same seed → same bytes).",
        discussion: """
        sqlite:PATH and mysqldump:PATH hold the same four tables as the alura-cash dumps \
        (dados_mutuarios, emprestimos, historicos_banco, ids), so examples/alura-cash/join.sql \
        and spec.json work on them; csv:PATH holds the joined book (one row per loan). \
        An existing sqlite file keeps its other tables; the four tables are replaced.
        """
    )

    @Option(help: "Number of loans. The joined book (csv:, or join.sql over the tables) has one row fewer from 100 loans on: one ids row has an empty person id, as in the shared dumps.")
    var rows: Int = 5000

    @Option(help: "Seed of the generator.")
    var seed: UInt64 = 42

    @Option(help: "Destination: sqlite:PATH, csv:PATH or mysqldump:PATH.")
    var out: String

    func validate() throws {
        guard rows >= 0 else { throw ValidationError("--rows must be >= 0") }
        guard ["sqlite", "csv", "mysqldump"].contains(DataSources.scheme(of: out) ?? "") else {
            throw ValidationError("--out must be sqlite:PATH, csv:PATH or mysqldump:PATH (got '\(out)')")
        }
    }

    func run() throws {
        let book = SyntheticLoanBook.generate(rows: rows, seed: seed)
        let written = try book.write(to: out)
        if DataSources.scheme(of: out) == "csv" {
            print("wrote \(written) joined rows of \(rows) synthetic loans (seed \(seed)) to \(out)")
        } else {
            print("wrote \(rows) synthetic loans (seed \(seed)) to \(out)")
        }
    }
}
