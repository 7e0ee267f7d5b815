import CreditDomain

/// `GET /v1/model`: what the model takes and how it decides, in snake_case JSON.
enum ModelJSON {
    static func describe(_ info: ModelDescription) -> String {
        let q = ScoreJSONWriter.quote, n = ScoreJSONWriter.number
        var out = "{\"model_id\":\(q(info.modelId)),\"algorithm\":\(q(info.algorithm)),\"threshold\":\(n(info.threshold))"
        out += ",\"threshold_mode\":\(q(info.thresholdMode)),\"id_field\":\(q(info.idField)),\"signer_key_id\":\(q(info.signerKeyId)),\"fields\":["
        for (i, f) in info.fields.enumerated() {
            if i > 0 { out += "," }
            out += "{\"name\":\(q(f.name)),\"kind\":\(q(f.kind.rawValue))"
            if f.kind == .categorical { out += ",\"categories\":[" + f.categories.map(q).joined(separator: ",") + "]" }
            out += "}"
        }
        out += "],\"metrics\":{" + info.metrics.map { "\(q($0.name)):\(n($0.value))" }.joined(separator: ",") + "}}\n"
        return out
    }
}
