import CreditDomain
import CreditModels
import Foundation
import CreditTestSupport
import Testing

/// Issue 15's guard rails: each was found by trying the tool as a new user would.
@Suite struct GuardRailTests {
    let raw = Synthetic.table(rows: 600, seed: 3)

    @Test(arguments: ["logistic", "mlp", "gbdt"])
    func targetWhosePositiveValueNeverOccursIsAnError(algorithm: String) throws {
        var spec = Synthetic.spec
        spec.target.positive = "yes"
        var o = TrainingOptions()
        o.algorithm = algorithm
        do {
            _ = try Trainer.train(raw: raw, spec: spec, options: o)
            Issue.record("trained with a positive value that never occurs")
        } catch let e as TrainingError {
            // Names the column, the positive value and the values seen (with counts).
            #expect(e.description.contains("'loan_status'"), "\(e)")
            #expect(e.description.contains("'yes' never occurs"), "\(e)")
            #expect(e.description.contains("'0' (") && e.description.contains("'1' ("), "\(e)")
        }
    }

    @Test func testIDsThatMatchNothingAreAnErrorAndPartialMatchesAreCounted() throws {
        var o = TrainingOptions()
        o.algorithm = "logistic"
        o.testIDs = ["nope-1", "nope-2"]
        #expect(throws: TrainingError.self) { try Trainer.train(raw: raw, spec: Synthetic.spec, options: o) }
        o.testIDs = ["nope-1", "L000001", "L000002"]
        let lines = LockedLines()
        let outcome = try Trainer.train(raw: raw, spec: Synthetic.spec, options: o, log: { lines.append($0) })
        #expect(outcome.test?.rows == 2)
        #expect(lines.all.contains { $0.contains("1 of 3 test ids are not in the data") && $0.contains("nope-1") }, "\(lines.all)")
    }

    @Test func thresholdRuleIsSnakeCaseAndTheOldFormStillReads() throws {
        let rules: [(ThresholdRule, String)] = [
            (.minPrecision(0.8), #"{"min_precision":0.8}"#),
            (.fixed(0.5), #"{"fixed":0.5}"#),
            (.cost(missedDefault: 5, refusedGood: 1), #"{"cost":{"missed_default":5,"refused_good":1}}"#),
        ]
        for (rule, json) in rules {
            #expect(String(decoding: try CreditJSON.encoder().encode(rule), as: UTF8.self) == json)
            #expect(try JSONDecoder().decode(ThresholdRule.self, from: Data(json.utf8)) == rule)
        }
        // Format 1 wrote Swift's synthesized enum coding.
        #expect(try JSONDecoder().decode(ThresholdRule.self, from: Data(#"{"minPrecision":{"_0":0.8}}"#.utf8)) == .minPrecision(0.8))
        #expect(try JSONDecoder().decode(ThresholdRule.self, from: Data(#"{"cost":{"missedDefault":5,"refusedGood":1}}"#.utf8))
            == .cost(missedDefault: 5, refusedGood: 1))
    }

    @Test func testWithTestIDsIsRefusedAndKernelsAreNotLoggedBeforeAnInputError() throws {
        let dir = temporaryPath("guard")
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let data = "\(dir)/book.csv", spec = "\(dir)/spec.json", ids = "\(dir)/ids.txt"
        try Synthetic.csv(raw).write(toFile: data, atomically: true, encoding: .utf8)
        try Synthetic.specJSON().write(to: URL(fileURLWithPath: spec))
        try "L000001\n".write(toFile: ids, atomically: true, encoding: .utf8)
        let both = try CLITests.credit(["train", "--data", "csv:\(data)", "--spec", spec, "--algorithm", "logistic",
                                        "--test-ids", ids, "--test", "0.2", "--out", "\(dir)/m.credit"])
        #expect(both.status != 0)
        #expect(both.stderr.contains("--test and --test-ids"), "\(both.stderr)")
        let missing = try CLITests.credit(["train", "--data", "csv:\(dir)/absent.csv", "--spec", spec, "--out", "\(dir)/m.credit"])
        #expect(missing.status != 0)
        #expect(!missing.stderr.contains("kernels:"), "\(missing.stderr)")
    }
}

/// Log lines collected from a `@Sendable` callback.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}
