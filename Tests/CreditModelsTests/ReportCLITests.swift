import CreditDomain
import CreditModels
import CreditTestSupport
import Foundation
import Testing

/// `credit train --report` and `credit report --model --data`: the offline report pages,
/// one point or bar per number of the report they draw.
@Suite struct ReportCLITests {
    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test func trainAndReportWriteTheChartsOfTheirReports() throws {
        let dir = temporaryPath("report-cli")
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Synthetic.csv(Synthetic.table(rows: 2000, seed: 12)).write(toFile: "\(dir)/train.csv", atomically: true, encoding: .utf8)
        try Synthetic.csv(Synthetic.table(rows: 800, seed: 13)).write(toFile: "\(dir)/other.csv", atomically: true, encoding: .utf8)
        try Synthetic.specJSON().write(to: URL(fileURLWithPath: "\(dir)/spec.json"))
        let train = try CLITests.credit(["train", "--data", "csv:\(dir)/train.csv", "--spec", "\(dir)/spec.json", "--algorithm", "logistic",
                                         "--out", "\(dir)/m.credit", "--report", "\(dir)/train.html"])
        #expect(train.status == 0, "\(train.stderr)")
        let stored = try #require(try ModelArtifact.load(path: "\(dir)/m.credit").artifact.report)
        let page = try String(contentsOfFile: "\(dir)/train.html", encoding: .utf8)
        #expect(Self.count("class=\"pt\"", in: page) == stored.roc.count + stored.precisionRecall.count + stored.calibration.count + 3 * stored.tradeoff.count)
        #expect(Self.count("<rect class=\"bar", in: page) == stored.scoreDefaults.count + stored.scoreGoods.count + stored.importance.count)
        #expect(!page.contains("<script"))

        let other = try CLITests.credit(["report", "--model", "\(dir)/m.credit", "--data", "csv:\(dir)/other.csv",
                                         "--out", "\(dir)/other.html", "--json", "\(dir)/other.json"])
        #expect(other.status == 0, "\(other.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/other.json"))) as! [String: Any]
        let report = try #require(doc["report"] as? [String: Any])
        #expect(report["dataset"] as? String == "csv:\(dir)/other.csv")
        #expect(report["rows"] as? Int == 800)
        #expect((report["score_defaults"] as? [Int])?.reduce(0, +) == report["positives"] as? Int)
        let otherPage = try String(contentsOfFile: "\(dir)/other.html", encoding: .utf8)
        #expect(otherPage.contains("csv:\(dir)/other.csv: 800 rows"))
    }
}
