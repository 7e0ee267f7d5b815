import CreditDomain
@testable import CreditModels
import Foundation
import CreditTestSupport
import Testing

/// Issue 15: reasons an applicant can be told. A refusal's reasons are only features that raised
/// the risk (contribution > 0) and whose value is on the feature's declared adverse side, worded
/// in that direction; approved applicants get none unless asked.
@Suite struct ReasonCodeTests {
    /// Wordings the issue found on refusals that read as praise.
    static let favourable = ["income is high relative to the amount requested", "amount requested is low",
                             "credit history is long", "interest rate offered is low", "loan grade is A",
                             "the loan's risk grade is good", "no previous default on file", "length of employment is long",
                             "loan amount is low relative to income", "home ownership is Own", "home ownership is Mortgage"]

    /// The shipped spec's wording, compiled against the shared loan book (preprocessing only).
    static func shippedWording() throws -> (ReasonWording, Schema) {
        let book = try SharedLoanBook.book()
        let schema = try Schema(spec: book.spec, table: book.raw)
        let cleaned = try Cleaner(schema: schema).clean(book.raw, purpose: .training).table
        let pre = try Preprocessor.fit(table: cleaned, schema: schema, rows: Array(0..<cleaned.rowCount))
        return (ReasonWording(schema: schema, stats: pre.features, plan: pre.plan(.native)), schema)
    }

    @Test func everyWordingOfTheShippedSpecStatesARiskRaisingFact() throws {
        let (wording, schema) = try Self.shippedWording()
        for (f, feature) in wording.features.enumerated() {
            let texts = wording.possibleReasons(feature: f)
            // Every feature declares its adverse direction, and it agrees with a declared monotone one.
            if feature.kind == .numeric || feature.order != nil {
                let side = try #require(feature.adverseSide, "\(feature.name) declares no adverse side")
                if let m = feature.monotone { #expect(side == (m == .increasing ? .high : .low), "\(feature.name)") }
            }
            if feature.kind == .categorical {
                let adverse = try #require(feature.adverseCategories, "\(feature.name) declares no adverse categories")
                if let order = feature.order, let m = feature.monotone {
                    // Along an increasing order the adverse categories are the top ones.
                    let ranks = adverse.map { order.firstIndex(of: $0)! }.sorted()
                    #expect(ranks == Array((order.count - ranks.count)..<order.count) || m == .decreasing, "\(feature.name)")
                }
            }
            // Its wordings: the adverse side's sentence (or adverse categories) and "missing"; never the other side's.
            if feature.kind == .numeric {
                #expect(texts == [feature.adverseSide == .high ? feature.reasonHigh : feature.reasonLow, feature.reasonMissing], "\(feature.name)")
                let median = wording.medians[f]
                for x in [median - 1, median, median + 1, -1e9, 1e9] {
                    let t = wording.adverseText(feature: f, value: .numeric(x))
                    let adverse = feature.adverseSide == .high ? x >= median : x < median
                    #expect(t == (adverse ? texts[0] : nil), "\(feature.name) = \(x)")
                }
            } else {
                for c in (feature.vocabulary ?? []) + [Cleaner.unknownCategory] {
                    let t = wording.adverseText(feature: f, value: .category(c))
                    #expect(t == (feature.adverseCategories!.contains(c) ? feature.categoryReason(c) : nil), "\(feature.name) = \(c)")
                }
            }
            for t in texts { #expect(!Self.favourable.contains(t), "\(feature.name): '\(t)'") }
        }
        #expect(schema.features.count == wording.features.count)
    }

    @Test func aContributionOnTheFavourableSideIsSkippedAndTheNextReasonTaken() throws {
        var spec = Synthetic.spec
        spec.features[1].adverseSide = .low                      // person_income
        spec.features[7].adverseCategories = ["Rent", "Other"]   // person_home_ownership
        let raw = Synthetic.table(rows: 500, seed: 2)
        let schema = try Schema(spec: spec, table: raw)
        let cleaned = try Cleaner(schema: schema).clean(raw, purpose: .training).table
        let pre = try Preprocessor.fit(table: cleaned, schema: schema, rows: Array(0..<cleaned.rowCount))
        let plan = pre.plan(.native)
        let wording = ReasonWording(schema: schema, stats: pre.features, plan: plan)
        // Native plan columns: one per feature, spec order. Income pushes hardest, then loan amount, then home.
        var contributions = [Float](repeating: -0.1, count: plan.width)
        contributions[1] = 0.9; contributions[3] = 0.5; contributions[7] = 0.3
        var perFeature = [Double](repeating: 0, count: pre.features.count)
        func reasons(income: Double, home: String) -> [Reason] {
            wording.reasonCodes(contributions: contributions, perFeature: &perFeature) { f -> (Double?, String?) in
                switch f {
                case 1: return (income, nil)
                case 3: return (1e9, nil)
                case 7: return (nil, home)
                default: return (0, "x")
                }
            }
        }
        let high = reasons(income: 1e7, home: "Own")            // high income, owner: neither may be a reason
        #expect(high.map(\.feature) == ["loan_amnt"])
        let low = reasons(income: 1, home: "Rent")
        #expect(low.map(\.feature) == ["person_income", "loan_amnt", "person_home_ownership"])
        #expect(low[0].text == "income is too low for the requested loan" && low.allSatisfy { $0.contribution > 0 })
    }

    @Test func approvedApplicantsGetNoReasonsUnlessAsked() throws {
        var o = TrainingOptions()
        o.algorithm = "logistic"
        o.validationFraction = 0.2
        o.threshold = .minPrecision(0.6)
        let out = try Trainer.train(raw: Synthetic.table(rows: 1500, seed: 3), spec: Synthetic.spec, options: o)
        let model = try ScoringModel(artifact: out.artifact, modelID: out.modelID)
        let table = Synthetic.table(rows: 300, seed: 8)
        let plain = try model.score(table), asked = try model.score(table, reasonsForApproved: true)
        let approved = plain.filter { $0.score?.refuse == false }, refused = plain.filter { $0.score?.refuse == true }
        #expect(!approved.isEmpty && !refused.isEmpty)
        #expect(approved.allSatisfy { $0.score!.reasons.isEmpty })
        #expect(refused.allSatisfy { !$0.score!.reasons.isEmpty })
        #expect(asked.filter { $0.score?.refuse == false }.contains { !$0.score!.reasons.isEmpty })
        // The session path agrees (what creditd serves).
        let session = model.makeSession(maxRows: 300)
        let cols = model.plan.numericFeatures.map { table.column(named: $0)!.numericValues!.map { $0 ?? .nan } }
        let cats = model.plan.categoricalFeatures.map { table.column(named: $0)!.categoricalValues! }
        _ = cols.withUnsafeBufferPointers { session.score(numeric: $0, categorical: cats, rows: 300) }
        for r in 0..<300 { #expect(session.reasons(r).isEmpty == !session.refuse(r), "row \(r)") }
        session.reasonsForApproved = true
        #expect((0..<300).contains { !session.refuse($0) && !session.reasons($0).isEmpty })
    }
}

extension Array where Element == [Double] {
    func withUnsafeBufferPointers<R>(_ body: ([UnsafeBufferPointer<Double>]) -> R) -> R {
        var buffers: [UnsafeBufferPointer<Double>] = []
        func step(_ i: Int) -> R {
            if i == count { return body(buffers) }
            return self[i].withUnsafeBufferPointer { buffers.append($0); return step(i + 1) }
        }
        return step(0)
    }
}
