import CreditCSV
import CreditDomain
import CreditTestSupport
import Foundation
import Testing

/// `POST /v1/score/csv` on bad uploads: clear 4xx JSON errors naming what is wrong, the
/// daemon stays up; a good upload is streamed with its row count and counts in the portfolio.
@Suite(.serialized) struct CSVUploadTests {
    @Test func badUploadsAreRefusedClearlyAndGoodOnesCount() async throws {
        let faces = try await Faces()
        defer { Task { await faces.stop() } }
        let port = faces.port
        func upload(_ text: String, type: String = "text/csv") async throws -> HTTPReply {
            try await HTTP.request(port: port, "POST", "/v1/score/csv", body: Array(text.utf8), headers: ["Content-Type": type])
        }
        func message(_ r: HTTPReply) -> String { ((r.json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? r.text }

        let json = try await upload("{}", type: "application/json")
        #expect(json.status == 415 && message(json).contains("text/csv"))
        let noID = try await upload("a,b\n1,2\n")
        #expect(noID.status == 422 && message(noID).contains("no id column 'loan_id'"), "\(noID.text)")
        let ragged = try await upload("loan_id,loan_amnt\nL1,100\nL2,200,300\n")
        #expect(ragged.status == 400 && message(ragged).contains("row 2") && message(ragged).contains("3 fields; the header has 2"), "\(ragged.text)")
        let notUTF8 = try await HTTP.request(port: port, "POST", "/v1/score/csv", body: Array("loan_id,loan_amnt\nL1,".utf8) + [0xFF, 0xFE, 10],
                                             headers: ["Content-Type": "text/csv"])
        #expect(notUTF8.status == 400 && message(notUTF8).contains("UTF-8"), "\(notUTF8.text)")

        // A good file: three rows (one without an id), streamed with its row count.
        let book = Synthetic.table(rows: 3, seed: 5)
        var bytes: [UInt8] = []
        CSVBytes.appendHeader(book.columnNames, to: &bytes)
        for r in 0..<3 { CSVBytes.appendRow(book, row: r, to: &bytes) }
        let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\nL000001,", with: "\n,")
        let good = try await upload(text)
        #expect(good.status == 200 && good.headers["x-credit-rows"] == "3" && good.headers["x-credit-model"] == faces.model.modelID)
        let lines = good.text.split(separator: "\n")
        #expect(lines.count == 4 && lines[0].hasPrefix("loan_id,probability,decision,reason_1,"), "\(good.text)")
        #expect(lines[2].hasPrefix(",,error,") && lines[2].contains("loan_id = '': missing id"), "\(good.text)")
        let portfolio = try #require(try await HTTP.request(port: port, "GET", "/v1/portfolio").json as? [String: Any])
        #expect(portfolio["scored"] as? Int == 2)
        #expect(try await HTTP.request(port: port, "GET", "/readyz").status == 200)
    }
}
