import Foundation
import Testing
@testable import CreditDomain

/// The spec compiled once: one rule for kinds, labels, reasons and ranges, whoever asks.
@Suite struct SchemaTests {
    static let spec = DatasetSpec(
        name: "t", id: "loan_id", target: TargetSpec(column: "loan_status", positive: "1"),
        features: [
            FeatureSpec(name: "person_income", range: RangeRule(min: 1, action: .drop)),       // range → numeric
            FeatureSpec(name: "loan_grade", vocabulary: ["A", "B"]),                           // vocabulary → categorical
            FeatureSpec(name: "loan_amnt", kind: .numeric, label: "amount", reasonHigh: "asks for a lot"),
            FeatureSpec(name: "loan_intent"),                                                  // the data decides
        ])

    static let table = DataTable(columns: [
        .categorical("loan_id", ["1", "2"]), .numeric("loan_status", [0, 1]),
        .numeric("person_income", [100, 0]), .categorical("loan_grade", ["a", "C"]),
        .numeric("loan_amnt", [5, 6]), .categorical("loan_intent", ["Boat", nil]),
    ])

    @Test func kindsFollowOneRule() throws {
        #expect(Self.spec.features.map(Schema.declaredKind(of:)) == [.numeric, .categorical, .numeric, nil])
        // Without data, an open kind is an error naming the feature.
        let error = #expect(throws: SpecError.self) { try Schema(spec: Self.spec) }
        #expect(error?.description.contains("feature 'loan_intent' has no kind") == true)
        let schema = try Schema(spec: Self.spec, table: Self.table)
        #expect(schema.features.map(\.kind) == [.numeric, .categorical, .numeric, .categorical])
        // Kinds recorded by a trained model serve the same way.
        let recorded = try Schema(spec: Self.spec, kinds: ["loan_intent": .numeric])
        #expect(recorded.feature(named: "loan_intent")?.kind == .numeric)
        // A feature with an open kind must be in the data.
        let missing = DataTable(columns: [.categorical("loan_id", ["1"])])
        #expect(throws: CleaningError.self) { try Schema(spec: Self.spec, table: missing) }
        // What a source forces: before data, the kinds the spec decides; after, every kind.
        #expect(Self.spec.forcedKinds.forced == ["loan_id": .categorical, "person_income": .numeric,
                                                 "loan_grade": .categorical, "loan_amnt": .numeric])
        #expect(schema.forcedKinds.forced["loan_intent"] == .categorical)
        #expect(schema.forcedKinds.forced["loan_id"] == .categorical)
    }

    @Test func oneLabelAndWordingRule() throws {
        let schema = try Schema(spec: Self.spec, table: Self.table)
        let income = try #require(schema.feature(named: "person_income"))
        #expect(income.label == "person income")           // name with _ → space
        #expect(income.specLabel == nil)                    // what an artifact records
        #expect(income.reasonHigh == "person income is too high")
        #expect(income.reasonLow == "person income is too low")
        #expect(income.reasonMissing == "person income is missing")
        let amount = try #require(schema.feature(named: "loan_amnt"))
        #expect(amount.label == "amount" && amount.specLabel == "amount")
        #expect(amount.reasonHigh == "asks for a lot" && amount.reasonLow == "amount is too low")
        #expect(schema.feature(named: "loan_grade")?.categoryReason("B") == "loan grade is B")
        // Reports use the same label; non-features keep their column name.
        #expect(schema.label(of: "person_income") == "person income")
        #expect(Self.spec.label(of: "person_income") == "person income")
        #expect(schema.label(of: "loan_status") == "loan_status")
        // The cleaner words its row errors with the same label.
        let cleaned = try Cleaner(schema: schema).clean(Self.table, purpose: .scoring)
        #expect(cleaned.rowErrors.map(\.reason) == ["person income 0 is outside the valid range 1…∞"])
        #expect(income.outsideRangeReason(0) == cleaned.rowErrors[0].reason)
    }

    @Test func rangesVocabulariesAndTarget() throws {
        let schema = try Schema(spec: Self.spec, table: Self.table)
        let income = try #require(schema.feature(named: "person_income"))
        #expect(income.validRange == 1...Double.greatestFiniteMagnitude)
        #expect(income.ruleText == "range 1…∞, outside → row dropped")
        let grade = try #require(schema.feature(named: "loan_grade"))
        #expect(grade.maxEditDistance == 2)
        #expect(grade.canonicalizer?.canonical("b") == "B")
        #expect(grade.ruleText == "vocabulary A, B; max edit distance 2; unmatched → unknown")
        #expect(schema.feature(named: "loan_intent")?.canonicalizer == nil)
        let cleaner = Cleaner(schema: schema)
        #expect(cleaner.canonicalCategory("a", feature: "loan_grade") == "A")
        #expect(cleaner.canonicalCategory(" Boat ", feature: "loan_intent") == "Boat")
        let target = Column.categorical("y", ["1", " 1.0", "0", nil, "yes"])
        #expect((0..<5).map { schema.isPositive(target, row: $0) } == [true, true, false, nil, false])
        #expect(schema.position(of: "loan_amnt") == 2)
    }
}
