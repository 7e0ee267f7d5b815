import CreditDomain
import CreditCore
import CreditDomain
import CreditModels
import Foundation

/// Seeded synthetic loan book for tests: correlated features shaped like the alura-cash
/// data (7 numeric, 4 categorical, a few % missing), ~22% defaults drawn from a known
/// logistic model. Same seed → same table.
/// The seeded synthetic loan book the model and server tests train on (shared by the test
/// targets through this support library).
public enum Synthetic {
    public static let spec = DatasetSpec(
        name: "synthetic", id: "loan_id", target: TargetSpec(column: "loan_status", positive: "1"),
        features: [
            FeatureSpec(name: "person_age", kind: .numeric, label: "age", range: RangeRule(min: 18, max: 100, action: .missing)),
            FeatureSpec(name: "person_income", kind: .numeric, label: "income", range: RangeRule(min: 0, action: .drop),
                        reasonLow: "income is too low for the requested loan"),
            FeatureSpec(name: "person_emp_length", kind: .numeric, label: "employment length", range: RangeRule(min: 0, max: 60, action: .clip)),
            FeatureSpec(name: "loan_amnt", kind: .numeric, label: "loan amount"),
            FeatureSpec(name: "loan_int_rate", kind: .numeric, label: "interest rate", reasonHigh: "interest rate is high"),
            FeatureSpec(name: "loan_percent_income", kind: .numeric, label: "loan to income",
                        reasonHigh: "loan amount is high relative to income"),
            FeatureSpec(name: "cb_person_cred_hist_length", kind: .numeric, label: "credit history length"),
            FeatureSpec(name: "person_home_ownership", kind: .categorical, label: "home ownership",
                        vocabulary: ["Rent", "Own", "Mortgage", "Other"]),
            FeatureSpec(name: "loan_intent", kind: .categorical, label: "loan purpose",
                        vocabulary: ["Education", "Medical", "Venture", "Personal", "Debt", "Home"]),
            FeatureSpec(name: "loan_grade", kind: .categorical, label: "loan grade", vocabulary: ["A", "B", "C", "D", "E", "F", "G"]),
            FeatureSpec(name: "cb_person_default_on_file", kind: .categorical, label: "prior default",
                        vocabulary: ["Y", "N"], reasonHigh: "a prior default is on file"),
        ])

    public static func table(rows n: Int, seed: UInt64, missingRate: Double = 0.03) -> DataTable {
        var g = SplitMix64(seed: seed)
        var id: [String?] = [], status: [Double?] = []
        var age: [Double?] = [], income: [Double?] = [], emp: [Double?] = [], amnt: [Double?] = []
        var rate: [Double?] = [], pct: [Double?] = [], hist: [Double?] = []
        var home: [String?] = [], intent: [String?] = [], grade: [String?] = [], prior: [String?] = []
        let homes = ["Rent", "Own", "Mortgage", "Other"], intents = ["Education", "Medical", "Venture", "Personal", "Debt", "Home"]
        let grades = ["A", "B", "C", "D", "E", "F", "G"]
        for i in 0..<n {
            let latent = g.normal()                   // creditworthiness (shared → correlations)
            let a = (27 + 6 * abs(g.normal()) + 2 * latent).rounded()
            let inc = (exp(10.9 + 0.5 * g.normal() + 0.15 * latent)).rounded()
            let e = max(0, (4 + 3 * g.normal() + latent).rounded())
            let am = (max(500, 9000 + 6000 * g.normal())).rounded()
            let gi = min(6, max(0, Int((1.3 - 1.1 * latent + 0.8 * g.normal()).rounded())))
            let r = ((7.5 + 2.2 * Double(gi) + 0.8 * g.normal()) * 100).rounded() / 100
            let p = (am / inc * 100).rounded() / 100
            let h = (max(2, 5 + 3 * g.normal() + (a - 27) / 3)).rounded()
            let hi = g.uniform() < 0.5 ? 0 : (g.uniform() < 0.2 ? 1 : (g.uniform() < 0.95 ? 2 : 3))
            let ii = Int(g.uniform() * 6) % 6
            let pr = g.uniform() < 0.1 + 0.15 * Double(gi) / 6 ? "Y" : "N"
            var z = -2.35 + 0.9 * Double(gi) / 2 + 6.5 * (p - 0.17) - 0.2 * (log(inc) - 10.9) + 0.25 * (r - 11) / 3
            z += (hi == 0 ? 0.7 : hi == 1 ? -0.9 : 0) + (ii == 1 ? 0.35 : ii == 2 ? -0.4 : 0) + (pr == "Y" ? 0.3 : 0) - 0.02 * e
            let y = g.uniform() < 1 / (1 + exp(-z)) ? 1.0 : 0.0
            func m<T>(_ v: T) -> T? { g.uniform() < missingRate ? nil : v }
            id.append(String(format: "L%06d", i)); status.append(y)
            age.append(m(a)); income.append(inc); emp.append(m(e)); amnt.append(am)
            rate.append(m(r)); pct.append(p); hist.append(h)
            home.append(homes[hi]); intent.append(m(intents[ii])); grade.append(grades[gi]); prior.append(m(pr))
        }
        return DataTable(columns: [
            .categorical("loan_id", id), .numeric("loan_status", status),
            .numeric("person_age", age), .numeric("person_income", income), .numeric("person_emp_length", emp),
            .numeric("loan_amnt", amnt), .numeric("loan_int_rate", rate), .numeric("loan_percent_income", pct),
            .numeric("cb_person_cred_hist_length", hist),
            .categorical("person_home_ownership", home), .categorical("loan_intent", intent),
            .categorical("loan_grade", grade), .categorical("cb_person_default_on_file", prior),
        ])
    }

    /// The table as CSV text (missing cells empty).
    public static func csv(_ t: DataTable) -> String {
        var out = t.columnNames.joined(separator: ",") + "\n"
        for r in 0..<t.rowCount {
            out += t.columns.map { $0.text(row: r) }.joined(separator: ",") + "\n"
        }
        return out
    }

    public static func specJSON() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(spec)
    }
}
