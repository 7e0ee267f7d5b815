import Foundation
import Testing

/// A single applicant object is bound straight into the scorer's row; the same applicant in
/// an array of one goes through columns. Both must give the same answer: the same status and
/// error message for bad requests, the same result (probabilities to the bit, reasons, row
/// error) otherwise — including which of several problems is reported.
@Suite(.serialized) struct ScoreJSONTests {
    static let cases: [String] = [
        #"{"id": "ok", "loan_amnt": 9000, "person_income": 52000, "person_home_ownership": "RENT"}"#,
        #"{"id": "text numbers", "loan_amnt": " 9000 ", "person_income": "52000", "loan_grade": 3}"#,
        #"{"id": "two bad numbers", "person_income": "lots", "loan_amnt": "much"}"#,
        #"{"id": "missing", "loan_amnt": null, "person_home_ownership": ""}"#,
        #"{"id": "huge", "loan_amnt": 1e999}"#,
        #"{"id": "unseen", "person_home_ownership": "Houseboat", "loan_intent": "<script>"}"#,
        #"{"id": "twice", "loan_amnt": 1, "loan_amnt": 2}"#,
        #"{"id": "twice null", "loan_amnt": null, "loan_amnt": 2}"#,
        #"{"id": "unknown twice", "zz": 1, "zz": 2}"#,
        #"{"zeta": 1, "alpha": 2, "loan_amnt": "x"}"#,
        #"{"id": "bad value after unknown", "zzz": 1, "loan_amnt": {"a": 1}}"#,
        #"{"id": "a", "id": "b"}"#,
        #"{"id": "a", "loan_id": "L1", "loan_amnt": 9000}"#,
        #"{"loan_amnt": true}"#,
    ]

    @Test func oneObjectAnswersLikeAnArrayOfOne() async throws {
        let faces = try await Faces()
        for body in Self.cases {
            let one = try await HTTP.request(port: faces.port, "POST", "/v1/score", body: Array(body.utf8), headers: ["Content-Type": "application/json"])
            let array = try await HTTP.request(port: faces.port, "POST", "/v1/score", body: Array("[\(body)]".utf8), headers: ["Content-Type": "application/json"])
            #expect(one.status == array.status, "\(body): \(one.status) vs \(array.status)")
            if one.status == 200 {
                let single = try #require(one.json as? [String: Any]), many = try #require(array.json as? [String: Any])
                let first = try #require((many["results"] as? [[String: Any]])?.first)
                #expect(NSDictionary(dictionary: single.filter { $0.key != "model_id" }) == NSDictionary(dictionary: first), "\(body):\n\(one.text)\n\(array.text)")
                #expect(one.probabilities == array.probabilities, "\(body)")
            } else {
                #expect(one.text == array.text, "\(body):\n\(one.text)\n\(array.text)")
            }
        }
        await faces.stop()
    }
}
