import CreditDomain
import Foundation
import Testing
@testable import CreditData

/// Acceptance on the real loan book in ../shared/data/alura-cash (fails when it is missing).
@Suite struct SharedDataTests {
    @Test func fourDumpsRestoreTo34489RowsEach() throws {
        let db = try SharedDatabase.path()
        for table in ["dados_mutuarios", "emprestimos", "historicos_banco", "ids"] {
            #expect(try sqlScalar(db, "SELECT COUNT(*) FROM \(table)") == 34_489, "\(table)")
        }
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM ids WHERE person_id = ''") == 4)
        #expect(try sqlScalar(db, "SELECT MAX(person_age) FROM dados_mutuarios") == 144)
    }

    @Test func exampleQueryGives34485RowsAnd7449Defaults() throws {
        let db = try SharedDatabase.path()
        let spec = try DatasetSpec.load(from: TestPaths.exampleSpec)
        let raw = try DataSources.open("sqlite:\(db)", kinds: spec.forcedKinds).read(query: spec.query)
        #expect(raw.rowCount == 34_485)
        let cleaned = try Cleaner(spec: spec.resolvingKinds(with: raw)).clean(raw, purpose: .training)
        #expect(cleaned.report.rowsOut == 34_142)
        let y = try #require(cleaned.table.column(named: "loan_status")?.numericValues)
        #expect(y.count == 34_142)
        #expect(y.reduce(0) { $0 + ($1 ?? 0) } == 7_449)
        #expect(cleaned.report.dropped == [DroppedRows(rule: "missing_target", column: "loan_status", count: 343)])
        #expect(cleaned.table.columnNames == ["loan_id", "loan_status"] + spec.features.map(\.name))
        // The real vocabularies are clean: nothing becomes unknown.
        for f in spec.features where f.vocabulary != nil {
            #expect(cleaned.report.column(f.name)?.unknown == 0, "\(f.name)")
        }
        #expect(cleaned.report.column("person_age")?.setMissing
            == (try sqlScalar(db, "SELECT COUNT(*) FROM (\(spec.query!)) WHERE loan_status IS NOT NULL AND (person_age > 100 OR person_age < 18)")))
    }

    @Test func profileNumbersAgreeWithDirectSQLCounts() throws {
        let db = try SharedDatabase.path()
        var spec = try DatasetSpec.load(from: TestPaths.exampleSpec)
        let raw = try SQLiteSource(path: db, kinds: spec.forcedKinds).read(query: spec.query)
        spec = try spec.resolvingKinds(with: raw)
        let profile = try Profiler(spec: spec).profile(raw, source: "sqlite:\(db)")
        // Through JSON, as a machine would read it.
        let json = try profile.jsonData()
        let decoded = try DataProfile.decode(json: json)
        #expect(decoded == profile)
        let q = spec.query!
        #expect(decoded.rows == (try sqlScalar(db, "SELECT COUNT(*) FROM (\(q))")))
        // One pass of SQL over the join: per column, NULL-or-empty count and distinct values.
        let parts = decoded.columns.enumerated().map { i, column in
            let c = "\"\(column.name)\""
            return "SUM(CASE WHEN \(c) IS NULL OR \(c) = '' THEN 1 ELSE 0 END) AS m\(i), "
                + "COUNT(DISTINCT CASE WHEN \(c) <> '' THEN \(c) END) AS d\(i)"
        }
        let counts = try SQLiteSource(path: db).read(query: "SELECT \(parts.joined(separator: ", ")) FROM (\(q))")
        for (i, column) in decoded.columns.enumerated() {
            #expect(Double(column.missing) == counts.column(named: "m\(i)")?.numericValues?.first ?? nil, "\(column.name)")
            #expect(Double(column.distinct) == counts.column(named: "d\(i)")?.numericValues?.first ?? nil, "\(column.name)")
        }
        let balance = try #require(decoded.classBalance)
        #expect(balance.labelled == 34_142 && balance.positives == 7_449 && balance.unlabelled == 343)
        // Categories and their default rates.
        let grades = try #require(decoded.column("loan_grade")?.categories)
        let sqlGrades = try SQLiteSource(path: db).read(query: """
            SELECT loan_grade AS g, COUNT(*) AS n, SUM(loan_status = 1) AS d FROM (\(q))
            WHERE loan_grade <> '' GROUP BY loan_grade ORDER BY n DESC
            """)
        #expect(grades.map(\.label) == sqlGrades.column(named: "g")?.categoricalValues?.map { $0 ?? "" })
        #expect(grades.map { Double($0.count) } == sqlGrades.column(named: "n")?.numericValues?.map { $0 ?? -1 })
        #expect(grades.map { Double($0.defaults) } == sqlGrades.column(named: "d")?.numericValues?.map { $0 ?? -1 })
        // Numeric summaries and outliers by the spec's range.
        let age = try #require(decoded.column("person_age")?.numeric)
        let minAge = try sqlScalar(db, "SELECT MIN(person_age) FROM (\(q))")
        #expect(age.max == 144 && age.min == Double(minAge))
        #expect(age.outliersAbove == (try sqlScalar(db, "SELECT COUNT(*) FROM (\(q)) WHERE person_age > 100")))
        let binned = age.histogram.reduce(0) { $0 + $1.count } + age.beyondChart
        #expect(binned == (try sqlScalar(db, "SELECT COUNT(*) FROM (\(q)) WHERE person_age IS NOT NULL")))
        #expect(decoded.cleaning?.rowsOut == 34_142)
    }
}
