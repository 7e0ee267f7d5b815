import CreditDomain
import Testing

/// `ScoreResults` is reused across requests: a reset must leave every applicant unscored and
/// reason-free, whatever the batch before it held, without clearing slots no one reads.
@Suite struct ScoreResultsTests {
    @Test func aResetLeavesNoScoreNoReasonAndNoErrorOfTheBatchBefore() {
        var r = ScoreResults()
        r.reset(count: 3)
        for i in 0..<3 {
            r.setScore(row: i, probability: 0.9, decision: .refuse)
            for k in 0..<ScoreResults.maxReasons { r.addReason(row: i, field: Int32(k), text: "reason \(k)", contribution: 1) }
        }
        r.setError(row: 1, field: "f", value: "v", reason: "bad")
        #expect(r.reasonCount == [4, 0, 4] && r.errors.count == 1)

        r.reset(count: 2)
        #expect(r.count == 2 && r.probability.count == 2 && r.decision.count == 2 && r.reasonCount == [0, 0])
        #expect(r.probability.allSatisfy(\.isNaN) && r.decision.allSatisfy { $0 == .unspecified } && r.errors.isEmpty)
        #expect(r.reasonField.count >= 2 * ScoreResults.maxReasons && r.reasonText.count >= 2 * ScoreResults.maxReasons)
        // A new reason lands in the first slot, and only it is counted.
        r.setScore(row: 0, probability: 0.7, decision: .refuse)
        r.addReason(row: 0, field: 9, text: "new", contribution: 0.5)
        #expect(r.reasonCount[0] == 1 && r.reasonField[0] == 9 && r.reasonText[0] == "new" && r.reasonContribution[0] == 0.5)

        r.reset(count: 5)   // larger than any batch before: the slots grow
        #expect(r.reasonCount == [0, 0, 0, 0, 0] && r.reasonContribution.count >= 5 * ScoreResults.maxReasons)
        r.addReason(row: 4, field: 2, text: "last", contribution: 2)
        #expect(r.reasonText[4 * ScoreResults.maxReasons] == "last")
    }
}
