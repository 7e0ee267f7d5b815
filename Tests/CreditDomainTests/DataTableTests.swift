import Testing
@testable import CreditDomain

@Suite struct DataTableTests {
    @Test func missingCountsAndSelection() {
        var t = DataTable()
        t.append(.numeric("age", [30, nil, 45]))
        t.append(.categorical("home", ["Rent", "Own", nil]))
        #expect(t.rowCount == 3)
        #expect(t.column(named: "age")?.missingCount == 1)
        let s = t.selecting(rows: [2, 0])
        #expect(s.column(named: "age")?.numericValues == [45, 30])
        #expect(s.column(named: "home")?.categoricalValues == [nil, "Rent"])
    }

    @Test func missingSpellings() {
        for m in ["", " ", "NULL", "NA"] { #expect(MissingValues.isMissing(m)) }
        #expect(!MissingValues.isMissing("0"))
    }
}
