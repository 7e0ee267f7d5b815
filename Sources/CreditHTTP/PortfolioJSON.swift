import CreditDomain
import CreditService

/// `GET /v1/portfolio`: what every face has scored since the serving model was loaded, in
/// snake_case JSON (docs/http.md).
enum PortfolioJSON {
    static func render(_ p: PortfolioSnapshot?, modelId: String) -> String {
        let q = ScoreJSONWriter.quote, n = ScoreJSONWriter.number
        let bins = Portfolio.scoreBins
        let edges = (0...bins).map { n(Double($0) / Double(bins)) }.joined(separator: ",")
        guard let p else {
            return "{\"model_id\":\(q(modelId)),\"since\":null,\"scored\":0,\"errors\":0,\"refused\":0,\"approval_rate\":null,"
                + "\"score_edges\":[\(edges)],\"score_counts\":[\(Array(repeating: "0", count: bins).joined(separator: ","))],"
                + "\"reasons\":[],\"features\":[]}\n"
        }
        var out = "{\"model_id\":\(q(p.modelId)),\"since\":\(n(p.sinceUnixSeconds)),\"scored\":\(p.scored),\"errors\":\(p.errors)"
        out += ",\"refused\":\(p.refused),\"approval_rate\":\(n(p.approvalRate)),\"score_edges\":[\(edges)]"
        out += ",\"score_counts\":[" + p.scoreCounts.map(String.init).joined(separator: ",") + "]"
        out += ",\"reasons\":[" + p.reasons.map { "{\"feature\":\(q($0.feature)),\"count\":\($0.count)}" }.joined(separator: ",") + "]"
        out += ",\"features\":["
        for (i, f) in p.features.enumerated() {
            if i > 0 { out += "," }
            out += "{\"name\":\(q(f.name)),\"kind\":\(q(f.kind.rawValue)),\"psi\":\(n(f.psi)),\"band\":\(q(f.band)),\"bins\":["
            out += f.labels.indices.map { "{\"label\":\(q(f.labels[$0])),\"expected\":\(n(f.expected[$0])),\"count\":\(f.counts[$0])}" }
                .joined(separator: ",")
            out += "]}"
        }
        return out + "]}\n"
    }
}
