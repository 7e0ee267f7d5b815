import CreditDomain
import CreditModels
import Foundation
import CreditTestSupport
import Testing

/// Format 2 (issue 15): snake_case threshold rules, how the threshold was chosen, the spec's
/// monotone/ordinal/adverse keys; format 1 files keep loading.
@Suite struct ArtifactFormatTests {
    @Test func formatOneFileWithTheOldThresholdRuleStillLoadsAndScoresTheSame() throws {
        let a = try trainSynthetic(rows: 1500)
        #expect(a.artifact.formatVersion == 2)
        let body = String(decoding: try a.artifact.body(), as: UTF8.self)
        #expect(body.contains(#""rule":{"min_precision":0.6}"#))
        #expect(!body.contains(#""_0""#))
        // The same model as format 1 wrote it: version 1, Swift's synthesized rule coding.
        let v1Body = body.replacingOccurrences(of: #""rule":{"min_precision":0.6}"#, with: #""rule":{"minPrecision":{"_0":0.6}}"#)
            .replacingOccurrences(of: #""format_version":2"#, with: #""format_version":1"#)
        #expect(v1Body != body)
        let v1 = Data("CREDIT 1\n\(ModelArtifact.modelID(body: Data(v1Body.utf8)))\n\(v1Body)".utf8)
        let (old, oldID) = try ModelArtifact.decode(v1)
        #expect(old.formatVersion == 1 && old.threshold.rule == .minPrecision(0.6))
        #expect(oldID != a.modelID)   // the id is the body's hash, whatever its version
        let table = Synthetic.table(rows: 200, seed: 5)
        let x = try ScoringModel(artifact: old, modelID: oldID).score(table)
        let y = try ScoringModel(artifact: a.artifact, modelID: a.modelID).score(table)
        #expect(x.map { $0.score?.probability } == y.map { $0.score?.probability })
    }

    @Test func specKeysRoundTripAndAreLeftOutWhenAbsent() throws {
        var spec = Synthetic.spec
        let plain = String(decoding: try CreditJSON.encoder().encode(spec), as: UTF8.self)
        #expect(!plain.contains("monotone") && !plain.contains("adverse") && !plain.contains("\"order\""))
        spec.features[4].monotone = .increasing
        spec.features[9].order = ["A", "B", "C", "D", "E", "F", "G"]
        spec.features[9].monotone = .increasing
        spec.features[9].adverseCategories = ["E", "F", "G"]
        spec.features[1].adverseSide = .low
        let json = try CreditJSON.encoder().encode(spec)
        #expect(try JSONDecoder().decode(DatasetSpec.self, from: json) == spec)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains(#""monotone":"increasing""#) && text.contains(#""adverse_side":"low""#)
            && text.contains(#""adverse_categories":["E","F","G"]"#))
        try spec.validate()
    }

    @Test func specRefusesContradictoryMonotoneAndAdverseKeys() throws {
        func problems(_ edit: (inout FeatureSpec) -> Void, feature: Int) -> [String] {
            var spec = Synthetic.spec
            edit(&spec.features[feature])
            do { try spec.validate(); return [] } catch let e as SpecError { return e.problems } catch { return ["\(error)"] }
        }
        // Grade (categorical) without an order cannot be monotone.
        #expect(problems({ $0.monotone = .increasing }, feature: 9).contains { $0.contains("needs an order") })
        #expect(problems({ $0.order = ["A", "B"] }, feature: 9).contains { $0.contains("order must list the vocabulary") })
        #expect(problems({ $0.monotone = .increasing; $0.adverseSide = .low }, feature: 4).contains { $0.contains("contradicts") })
        #expect(problems({ $0.adverseCategories = ["Z"] }, feature: 7).contains { $0.contains("'Z' is not in the vocabulary") })
        #expect(problems({ $0.adverseCategories = ["A"] }, feature: 4).contains { $0.contains("for categorical features") })
        #expect(problems({ $0.order = ["A", "B", "C", "D", "E", "F", "G"]; $0.monotone = .increasing; $0.adverseCategories = ["A", "G"] },
                         feature: 9).contains { $0.contains("must be the last values of the order") })
        #expect(problems({ $0.order = ["G", "F", "E", "D", "C", "B", "A"]; $0.monotone = .decreasing; $0.adverseCategories = ["G", "F"] },
                         feature: 9).isEmpty)
    }
}
