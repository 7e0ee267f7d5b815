import Foundation
import Testing
@testable import CreditDomain

@Suite struct CleanerTests {
    static let spec = DatasetSpec(
        name: "t", id: "id", target: TargetSpec(column: "y", positive: "1"),
        features: [
            FeatureSpec(name: "age", kind: .numeric, range: RangeRule(min: 18, max: 100, action: .missing)),
            FeatureSpec(name: "emp", kind: .numeric, range: RangeRule(min: 0, max: 60, action: .clip)),
            FeatureSpec(name: "income", kind: .numeric, range: RangeRule(min: 1, action: .drop)),
            FeatureSpec(name: "home", kind: .categorical, vocabulary: ["Rent", "Own", "Mortgage", "Other"]),
            FeatureSpec(name: "intent", kind: .categorical,
                        vocabulary: ["Debtconsolidation", "Education", "Homeimprovement", "Medical", "Personal",
                                     "Venture"]),
            FeatureSpec(name: "grade", kind: .categorical, vocabulary: ["A", "B", "C", "D", "E", "F", "G"]),
        ])

    @Test func typoCorrectionMapsDirtyValuesAndKeepsUnrelatedOnesUnknown() throws {
        let c = try Cleaner(spec: Self.spec)
        #expect(c.canonicalCategory("rent ", feature: "home") == "Rent")
        #expect(c.canonicalCategory("RENT", feature: "home") == "Rent")
        #expect(c.canonicalCategory("Rnet", feature: "home") == "Rent") // transposition
        #expect(c.canonicalCategory("Mortage", feature: "home") == "Mortgage")
        #expect(c.canonicalCategory("  own", feature: "home") == "Own")
        #expect(c.canonicalCategory("Homeimprovment", feature: "intent") == "Homeimprovement")
        #expect(c.canonicalCategory("home improvement", feature: "intent") == "Homeimprovement")
        #expect(c.canonicalCategory("debt_consolidation", feature: "intent") == "Debtconsolidation")
        #expect(c.canonicalCategory("Medcal", feature: "intent") == "Medical")
        // Unrelated values are never guessed.
        #expect(c.canonicalCategory("Spaceship", feature: "home") == "unknown")
        #expect(c.canonicalCategory("Boat", feature: "home") == "unknown")
        #expect(c.canonicalCategory("Rant", feature: "intent") == "unknown")
        #expect(c.canonicalCategory("Ventilation", feature: "intent") == "unknown")
        // One-letter codes match by case only (a third of one letter is zero edits).
        #expect(c.canonicalCategory("b", feature: "grade") == "B")
        #expect(c.canonicalCategory("H", feature: "grade") == "unknown")
        // Missing stays missing.
        #expect(c.canonicalCategory(nil, feature: "home") == nil)
        #expect(c.canonicalCategory("", feature: "home") == nil)
        #expect(c.canonicalCategory("NULL", feature: "home") == nil)
    }

    @Test func ambiguousValuesBecomeUnknown() {
        // "bat" is one edit from both "cat" and "bar"... but a third of 3 letters is 1, so both qualify.
        let canon = CategoryCanonicalizer(vocabulary: ["cats", "bats"], maxEditDistance: 2)
        #expect(canon.canonical("rats") == "unknown") // one edit from both
        #expect(canon.canonical("cast") == "cats") // transposition, one candidate
        #expect(canon.canonical("Cats") == "cats")
    }

    /// normalize's byte loop (ASCII) and scalar filter against the Foundation definition it
    /// replaced: lowercased, without `whitespacesAndNewlines`, '_' and '-'.
    @Test func normalizeMatchesTheFoundationDefinition() {
        func reference(_ s: String) -> String {
            String(s.lowercased().unicodeScalars.filter {
                !CharacterSet.whitespacesAndNewlines.contains($0) && $0 != "_" && $0 != "-"
            }.map(Character.init))
        }
        var samples = ["RENT", "Rent", " Home_Improvement ", "debt-CONSOLIDATION", "A", "", "\t\n\r\u{0B}\u{0C}x y",
                       "Éducation", "MORTGAGE\u{00A0}", "o\u{2003}w\u{3000}n", "line\u{2028}sep\u{2029}", "ﬁ", "İstanbul", "ß_ẞ", "\u{85}nel", "emoji 🙂-ok"]
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("aZ_- \t\u{00A0}\u{2009}éÉ9\u{85}\u{1680}".unicodeScalars)
        for _ in 0..<2000 {
            samples.append(String(String.UnicodeScalarView((0..<Int.random(in: 0...8, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })))
        }
        for s in samples { #expect(CategoryCanonicalizer.normalize(s) == reference(s), "\(s.debugDescription)") }
    }

    @Test func editDistanceIsOptimalStringAlignment() {
        #expect(CategoryCanonicalizer.editDistance("rent", "rnet") == 1)
        #expect(CategoryCanonicalizer.editDistance("kitten", "sitting") == 3)
        #expect(CategoryCanonicalizer.editDistance("", "abc") == 3)
        #expect(CategoryCanonicalizer.editDistance("ca", "abc") == 3) // OSA, not unrestricted DL
        #expect(CategoryCanonicalizer.editDistance("homeimprovment", "homeimprovement") == 1)
    }

    static func dirtyTable() -> DataTable {
        DataTable(columns: [
            .categorical("id", ["a", "b", nil, "d", "e", "f", "g"]),
            .numeric("y", [1, 0, 0, nil, 1, 0, 0]),
            .numeric("age", [30, 144, 40, 22, 17, nil, 50]),
            .numeric("emp", [3, 123, 2, 1, -1, 4, 5]),
            .numeric("income", [50000, 40000, 30000, 20000, 10000, 0, 60000]),
            .categorical("home", ["rent ", "RENT", "Rnet", "Own", "Spaceship", "Mortgage", nil]),
            .categorical("intent", ["Homeimprovment", "Medical", "Medical", "Education", "Venture", "Personal", "Debtconsolidation"]),
            .categorical("grade", ["A", "b", "C", "D", "E", "F", "G"]),
        ])
    }

    @Test func trainingCleaningDropsAndReports() throws {
        let cleaned = try Cleaner(spec: Self.spec).clean(Self.dirtyTable(), purpose: .training)
        // Row 2: missing id; row 3: missing target; row 5: income 0 below range (drop).
        #expect(cleaned.sourceRows == [0, 1, 4, 6])
        #expect(cleaned.table.columnNames == ["id", "y", "age", "emp", "income", "home", "intent", "grade"])
        #expect(cleaned.table.column(named: "y")?.numericValues == [1, 0, 1, 0])
        #expect(cleaned.table.column(named: "age")?.numericValues == [30, nil, nil, 50])
        #expect(cleaned.table.column(named: "emp")?.numericValues == [3, 60, 0, 5])
        #expect(cleaned.table.column(named: "home")?.categoricalValues == ["Rent", "Rent", "unknown", nil])
        #expect(cleaned.table.column(named: "intent")?.categoricalValues
            == ["Homeimprovement", "Medical", "Venture", "Debtconsolidation"])
        #expect(cleaned.rowErrors.isEmpty)
        let r = cleaned.report
        #expect(r.rowsIn == 7 && r.rowsOut == 4)
        #expect(r.dropped == [
            DroppedRows(rule: "missing_id", column: "id", count: 1),
            DroppedRows(rule: "missing_target", column: "y", count: 1),
            DroppedRows(rule: "out_of_range", column: "income", count: 1),
        ])
        #expect(r.column("age")?.setMissing == 2)
        #expect(r.column("age")?.missing == 0)
        #expect(r.column("emp")?.clipped == 2)
        #expect(r.column("home")?.corrected == 2)
        #expect(r.column("home")?.unknown == 1)
        #expect(r.column("home")?.missing == 1)
        #expect(r.column("home")?.corrections == [
            Correction(from: "RENT", to: "Rent", count: 1),
            Correction(from: "Spaceship", to: "unknown", count: 1),
            Correction(from: "rent ", to: "Rent", count: 1),
        ])
        #expect(r.column("grade")?.corrected == 1)
        // The report is JSON-codable.
        let data = try JSONEncoder().encode(r)
        #expect(try JSONDecoder().decode(CleaningReport.self, from: data) == r)
    }

    @Test func scoringNeverDropsAndReportsRowErrors() throws {
        let cleaner = try Cleaner(spec: Self.spec)
        let cleaned = try cleaner.clean(Self.dirtyTable(), purpose: .scoring)
        #expect(cleaned.sourceRows == Array(0..<7))
        #expect(cleaned.table.rowCount == 7)
        #expect(cleaned.rowErrors == [
            RowError(row: 2, field: "id", value: "", reason: "missing id"),
            RowError(row: 5, field: "income", value: "0", reason: "income 0 is outside the valid range 1…∞"),
        ])
        #expect(cleaned.table.column(named: "income")?.numericValues?[5] == nil)
        #expect(cleaned.report.rowErrors == 2)
        #expect(cleaned.report.dropped.isEmpty)
        // Single-value API agrees with the table path.
        #expect(cleaner.cleanNumeric(144, feature: "age") == .value(nil))
        #expect(cleaner.cleanNumeric(123, feature: "emp") == .value(60))
        #expect(cleaner.cleanNumeric(35, feature: "age") == .value(35))
        #expect(cleaner.cleanNumeric(nil, feature: "age") == .value(nil))
        if case .rejected(let reason) = cleaner.cleanNumeric(-5, feature: "income") {
            #expect(reason.contains("-5"))
        } else {
            Issue.record("income -5 must be rejected")
        }
        // A scoring table without the target column is fine.
        var noTarget = DataTable()
        for c in Self.dirtyTable().columns where c.name != "y" { noTarget.append(c) }
        let scored = try cleaner.clean(noTarget, purpose: .scoring)
        #expect(!scored.table.contains(column: "y"))
        #expect(throws: CleaningError.self) { try cleaner.clean(noTarget, purpose: .training) }
    }
}
