import CreditCore
import CreditDomain
import Foundation
import Testing
@testable import CreditData

@Suite struct SynthTests {
    @Test func sameSeedSameBytes() throws {
        let dir = try TestPaths.tempDir()
        func bytes(_ seed: UInt64, _ ext: String, _ name: String) throws -> Data {
            let path = dir.appendingPathComponent(name).path
            try SyntheticLoanBook.generate(rows: 1500, seed: seed).write(to: "\(ext):\(path)")
            return try Data(contentsOf: URL(fileURLWithPath: path))
        }
        let a = try bytes(11, "mysqldump", "a.sql"), b = try bytes(11, "mysqldump", "b.sql")
        let c = try bytes(12, "mysqldump", "c.sql")
        #expect(a == b)
        #expect(a != c)
        #expect(a.count > 100_000)
        #expect(try bytes(11, "csv", "a.csv") == (try bytes(11, "csv", "b.csv")))
        var r1 = SplitMix64(seed: 1), r2 = SplitMix64(seed: 1)
        #expect((0..<10).map { _ in r1.next() } == (0..<10).map { _ in r2.next() })
    }

    @Test func bookIsRealisticAndDirty() throws {
        let dir = try TestPaths.tempDir()
        let db = dir.appendingPathComponent("book.db").path
        let rows = 4000
        try SyntheticLoanBook.generate(rows: rows, seed: 2024).write(to: "sqlite:\(db)")
        for table in ["dados_mutuarios", "emprestimos", "historicos_banco", "ids"] {
            #expect(try sqlScalar(db, "SELECT COUNT(*) FROM \(table)") == rows)
        }
        // The example query and spec work unchanged on it.
        let spec = try DatasetSpec.load(from: TestPaths.exampleSpec)
        let raw = try SQLiteSource(path: db, kinds: spec.forcedKinds).read(query: spec.query)
        #expect(raw.rowCount == rows - 1) // one ids row has an empty person_id
        let cleaned = try Cleaner(spec: try spec.resolvingKinds(with: raw)).clean(raw, purpose: .training)
        let y = try #require(cleaned.table.column(named: "loan_status")?.numericValues)
        let rate = y.reduce(0) { $0 + ($1 ?? 0) } / Double(y.count)
        #expect(rate >= 0.18 && rate <= 0.26, "default rate \(rate)")
        // Dirt: NULLs and empty strings, typos, outliers, missing outcomes.
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM dados_mutuarios WHERE person_age IS NULL") > 0)
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM dados_mutuarios WHERE person_home_ownership = ''") > 0)
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM emprestimos WHERE loan_status IS NULL") > 0)
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM dados_mutuarios WHERE person_home_ownership IN ('rent ', 'RENT', 'Rnet')") > 0)
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM emprestimos WHERE loan_intent IN ('Homeimprovment', 'Medcal', 'Educaton', 'Persnal', 'Ventrue', 'Debtconsolidaton')") > 0)
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM dados_mutuarios WHERE person_age > 100") > 0)
        let home = try #require(cleaned.report.column("person_home_ownership"))
        #expect(home.corrected > 0 && home.unknown > 0)
        #expect(home.corrections.contains { $0.from == "Rnet" && $0.to == "Rent" })
        #expect(try #require(cleaned.report.column("person_age")).setMissing > 0)
        // Correlations: the rate follows the grade, income grows with age.
        let byGrade = try SQLiteSource(path: db).read(query: """
            SELECT AVG(loan_int_rate) AS r FROM emprestimos WHERE loan_grade IN ('A','D') GROUP BY loan_grade ORDER BY loan_grade
            """).column(named: "r")?.numericValues ?? []
        #expect(byGrade.count == 2 && byGrade[0]! + 5 < byGrade[1]!)
        let defaultsByGrade = try SQLiteSource(path: db).read(query: """
            SELECT AVG(loan_status) AS d FROM emprestimos WHERE loan_grade IN ('A','D') GROUP BY loan_grade ORDER BY loan_grade
            """).column(named: "d")?.numericValues ?? []
        #expect(defaultsByGrade.count == 2 && defaultsByGrade[0]! * 2 < defaultsByGrade[1]!)
    }

    @Test func csvHoldsTheJoinedBook() throws {
        let dir = try TestPaths.tempDir()
        let path = dir.appendingPathComponent("book.csv").path
        let book = SyntheticLoanBook.generate(rows: 500, seed: 5)
        try book.write(to: "csv:\(path)")
        let spec = try DatasetSpec.load(from: TestPaths.exampleSpec)
        let t = try CSVSource(path: path, kinds: spec.forcedKinds).read(query: nil)
        #expect(t.rowCount == 499)
        #expect(t.columnNames.first == "loan_id")
        #expect(Set(t.columnNames) == Set(spec.features.map(\.name) + ["loan_id", "loan_status"]))
    }
}
