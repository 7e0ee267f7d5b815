import Foundation
import Testing
@testable import CreditDomain

@Suite struct SpecTests {
    @Test func exampleSpecLoadsWithQueryFileAndLabels() throws {
        let spec = try DatasetSpec.load(from: TestPaths.exampleSpec)
        #expect(spec.id == "loan_id")
        #expect(spec.target == TargetSpec(column: "loan_status", positive: "1"))
        #expect(spec.query?.contains("NULLIF(i.person_id, '')") == true)
        #expect(spec.features.map(\.name) == [
            "person_age", "person_income", "person_home_ownership", "person_emp_length", "loan_intent",
            "loan_grade", "loan_amnt", "loan_int_rate", "loan_percent_income", "cb_person_default_on_file",
            "cb_person_cred_hist_length",
        ])
        for f in spec.features {
            #expect(f.label != nil && f.reasonHigh != nil && f.reasonLow != nil && f.reasonMissing != nil, "\(f.name)")
        }
        #expect(spec.feature(named: "loan_percent_income")?.reasonHigh == "loan amount is high relative to income")
        #expect(spec.feature(named: "person_age")?.range == RangeRule(min: 18, max: 100, action: .missing))
    }

    @Test func validationListsEveryProblem() throws {
        let dir = try TestPaths.tempDir()
        let path = dir.appendingPathComponent("bad.json").path
        try """
        {"name": "bad", "id": "loan_id", "target": {"column": "loan_status", "positive": ""},
         "features": [
           {"name": "age", "kind": "numeric", "range": {"min": 100, "max": 18}},
           {"name": "age", "kind": "numeric"},
           {"name": "home", "kind": "categorical", "vocabulary": ["Rent", "rent"], "max_edit_distance": -1},
           {"name": "loan_id"}
         ]}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: SpecError.self) { try DatasetSpec.load(from: path) }
        let text = error?.description ?? ""
        #expect(text.contains(path))
        #expect(text.contains("target.positive is empty"))
        #expect(text.contains("feature 'age': range min 100 is above max 18"))
        #expect(text.contains("feature 'age' is listed twice"))
        #expect(text.contains("differ only in case or spacing"))
        #expect(text.contains("max_edit_distance must be >= 0"))
        #expect(text.contains("feature 'loan_id' is the id column"))

        try #"{"name": "x", "id": "a", "target": {"column": "y"}, "features": []}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let e2 = #expect(throws: SpecError.self) { try DatasetSpec.load(from: path) }
        #expect(e2?.description.contains("missing key 'positive' at target") == true)
    }

    @Test func kindsAreInferredForFeaturesThatLeaveThemOut() throws {
        let spec = DatasetSpec(name: "t", id: "id", target: TargetSpec(column: "y", positive: "1"),
                               features: [FeatureSpec(name: "a"), FeatureSpec(name: "b"),
                                          FeatureSpec(name: "c", vocabulary: ["x"])])
        let table = DataTable(columns: [
            .categorical("id", ["1", "2"]), .numeric("y", [0, 1]), .numeric("a", [1.5, nil]),
            .categorical("b", ["x", "y"]), .categorical("c", ["x", nil]),
        ])
        let resolved = try spec.resolvingKinds(with: table)
        #expect(resolved.features.map(\.kind) == [.numeric, .categorical, .categorical])
        let missing = DataTable(columns: [.categorical("id", ["1"]), .numeric("y", [0])])
        let error = #expect(throws: SpecError.self) { try spec.resolvingKinds(with: missing) }
        #expect(error?.description.contains("feature 'a' is not in the data (columns: id, y)") == true)
    }
}
