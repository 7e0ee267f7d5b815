import CreditCore
import CreditDomain
import CreditHTTP
import CreditModels
import CreditModelServing
import CreditServer
import CreditService
import CreditTestSupport
import CreditWire
import Foundation
import Logging
import Metrics
import Prometheus
import Testing

/// The HTTP face beside the protobuf one, on one service with a real trained model.
final class Faces: @unchecked Sendable {
    let dir: String
    let registry = PrometheusCollectorRegistry()
    let service: ScoringService
    let daemon: Daemon
    let http: HTTPFace
    let model: ScoringModel
    var port: Int { http.port! }

    init(token: String? = nil, idleTimeout: Double = 60) async throws {
        dir = NSTemporaryDirectory() + "credit-http-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var o = TrainingOptions()
        o.algorithm = "gbdt"
        o.seed = 5
        o.validationFraction = 0.2   // one fit: this test is about serving
        let options = o
        let outcome = try await offPool { try Trainer.train(raw: Synthetic.table(rows: 3000, seed: 99), spec: Synthetic.spec, options: options) }
        let path = "\(dir)/m.credit"
        try outcome.fileData.write(to: URL(fileURLWithPath: path))
        model = try ScoringModel(path: path)
        var logger = Logger(label: "http-test")
        logger.logLevel = .critical
        var sc = ServiceConfig(modelPath: path, maxApplicants: 5000)
        sc.metricsFactory = PrometheusMetricsFactory(registry: registry)
        service = ScoringService(config: sc, loader: ScoringModelBackend.loader, logger: logger)
        try service.load(path: path, trigger: "test")
        daemon = try buildDaemon(config: DaemonConfig(listen: [.unix(path: "\(dir)/d.sock")]), service: service)
        var hc = HTTPFaceConfig(host: "127.0.0.1", port: 0)
        hc.token = token
        hc.idleTimeoutSeconds = idleTimeout
        let registry = self.registry
        hc.metricsText = { registry.emitToString() }
        http = try await startHTTPFace(config: hc, service: service)
    }

    func stop() async {
        daemon.stop()
        await http.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

@Suite(.serialized) struct HTTPFaceTests {
    /// 2,000 applicants with missing values, unseen categories, numbers sent as text, text
    /// in numeric fields and missing fields, through JSON POST (one by one and as a batch),
    /// JSON GET, protobuf and in-process: identical probabilities (bit for bit), decisions
    /// and reasons, or identical row errors.
    @Test func jsonProtobufAndInProcessAgreeBitForBit() async throws {
        let faces = try await Faces()
        var table = Synthetic.table(rows: 2000, seed: 31, missingRate: 0.08)
        var home = table.column(named: "person_home_ownership")!.categoricalValues!
        var income = table.column(named: "person_income")!.numericValues!
        for i in stride(from: 0, to: 2000, by: 37) { home[i] = "Houseboat" }
        for i in stride(from: 5, to: 2000, by: 101) { income[i] = -5 }
        table.replace(.categorical("person_home_ownership", home))
        table.replace(.numeric("person_income", income))
        let inProcess = try faces.model.score(table)
        let fields = faces.model.inputFields
        // One JSON object per applicant: numbers as numbers, missing as null, every 13th
        // numeric value as text (what a form or Power BI sends).
        func applicant(_ r: Int) -> [String: Any] {
            var o: [String: Any] = ["id": table.column(named: "loan_id")!.text(row: r)]
            for (k, f) in fields.enumerated() {
                let c = table.column(named: f.name)!
                if c.isMissing(row: r) { o[f.name] = NSNull(); continue }
                switch c.values {
                case .numeric(let v): o[f.name] = (r + k) % 13 == 0 ? "\(v[r]!)" as Any : v[r]! as Any
                case .categorical(let v): o[f.name] = v[r]!
                }
            }
            return o
        }
        let batch = try await HTTP.post(port: faces.port, "/v1/score", json: (0..<2000).map(applicant))
        #expect(batch.status == 200, "\(batch.text.prefix(300))")
        let results = try #require((batch.json as? [String: Any])?["results"] as? [[String: Any]])
        let probabilities = batch.probabilities
        // Protobuf, the same rows in columns.
        var cb = ColumnBatch(ids: (0..<2000).map { table.column(named: "loan_id")!.text(row: $0) })
        for f in fields {
            switch table.column(named: f.name)!.values {
            case .numeric(let v): cb.numeric.append((f.name, v.map { $0 ?? .nan }))
            case .categorical(let v): cb.categorical.append((f.name, v.map { $0 ?? "" }))
            }
        }
        let socket = "\(faces.dir)/d.sock", request = Request(id: 1, .score(.columns(cb)))
        let wire = try await offPool { try WireTestClient(.unix(path: socket)).call(request).score! }
        var compared = 0
        for r in 0..<2000 {
            let expected = inProcess[r]
            let j = results[r]
            if let e = expected.error {
                let je = try #require(j["error"] as? [String: Any], "row \(r): \(j)")
                #expect(je["field"] as? String == e.field && je["reason"] as? String == e.reason, "row \(r)")
                #expect(wire.errors.first { $0.row == r }?.reason == e.reason)
                continue
            }
            let s = try #require(expected.score)
            let p = try #require(probabilities[r], "row \(r): \(j)")
            #expect(p.bitPattern == s.probability.bitPattern, "row \(r): JSON \(p) vs in-process \(s.probability)")
            #expect(wire.probability[r].bitPattern == s.probability.bitPattern, "row \(r): protobuf")
            #expect((j["decision"] as? String) == (s.refuse ? "refuse" : "approve"))
            let reasons = (j["reasons"] as? [[String: Any]] ?? []).map { ($0["feature"] as? String ?? "", $0["text"] as? String ?? "") }
            #expect(reasons.map(\.0) == s.reasons.map(\.feature) && reasons.map(\.1) == s.reasons.map(\.text), "row \(r)")
            compared += 1
        }
        #expect(compared > 1800)
        // A sample one by one: POST one object, and GET with query parameters (all text).
        for r in stride(from: 0, to: 2000, by: 97) {
            let one = try await HTTP.post(port: faces.port, "/v1/score", json: applicant(r))
            let obj = try #require(one.json as? [String: Any])
            var query: [String] = []
            for (k, v) in applicant(r) where !(v is NSNull) {
                query.append("\(k)=\(String(describing: v).addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
            }
            let get = try await HTTP.request(port: faces.port, "GET", "/v1/score?" + query.joined(separator: "&"))
            let g = try #require(get.json as? [String: Any])
            if let s = inProcess[r].score {
                #expect(one.probabilities[0]?.bitPattern == s.probability.bitPattern, "POST row \(r)")
                #expect(get.probabilities[0]?.bitPattern == s.probability.bitPattern, "GET row \(r): \(g)")
            } else {
                #expect(obj["error"] != nil && g["error"] != nil, "row \(r)")
            }
        }
        await faces.stop()
    }

    /// The two requests docs/powerbi.md's M produces: GET with percent-encoded text query
    /// values, and POST of `Json.FromValue(Table.ToRecords(...))` (an array of records).
    @Test func powerBIRequestsAsDocumented() async throws {
        let faces = try await Faces()
        let table = Synthetic.table(rows: 3, seed: 8, missingRate: 0)
        let expected = try faces.model.score(table)
        func value(_ name: String, _ r: Int) -> String { table.column(named: name)!.text(row: r) }
        let get = try await HTTP.request(port: faces.port, "GET",
            "/v1/score?person_income=\(value("person_income", 0))&loan_amnt=\(value("loan_amnt", 0))&person_home_ownership=\(value("person_home_ownership", 0).addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
        let one = try #require(get.json as? [String: Any])
        #expect(get.status == 200 && one["decision"] is String && one["probability_good"] is Double, "\(get.text)")
        // Power BI's Json.FromValue writes numbers without a trailing .0 and text as strings.
        var rows: [String] = []
        for r in 0..<3 {
            var cells: [String] = []
            for f in faces.model.inputFields {
                let c = table.column(named: f.name)!
                cells.append("\"\(f.name)\":" + (f.kind == .numeric ? c.text(row: r) : "\"\(c.text(row: r))\""))
            }
            rows.append("{" + cells.joined(separator: ",") + "}")
        }
        let post = try await HTTP.request(port: faces.port, "POST", "/v1/score", body: Array(("[" + rows.joined(separator: ",") + "]").utf8),
                                    headers: ["Content-Type": "application/json"])
        #expect(post.status == 200, "\(post.text)")
        for (r, p) in post.probabilities.enumerated() {
            #expect(p?.bitPattern == expected[r].score?.probability.bitPattern, "row \(r)")
        }
        await faces.stop()
    }

    @Test func badRequestsGetClearJSONErrorsAndAreCounted() async throws {
        let faces = try await Faces()
        let p = faces.port
        func check(_ r: HTTPReply, _ status: Int, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(r.status == status, "\(r.status): \(r.text)", sourceLocation: sourceLocation)
            let message = ((r.json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains(words), "\(message)", sourceLocation: sourceLocation)
        }
        check(try await HTTP.request(port: p, "POST", "/v1/score", body: Array("{".utf8), headers: ["Content-Type": "application/json"]), 400, "not valid JSON")
        check(try await HTTP.request(port: p, "POST", "/v1/score", body: Array("{}".utf8), headers: ["Content-Type": "text/plain"]), 415, "application/json")
        check(try await HTTP.request(port: p, "POST", "/v1/score", body: Array((String(repeating: "[", count: 50) + String(repeating: "]", count: 50)).utf8),
                               headers: ["Content-Type": "application/json"]), 400, "nests 50 levels")
        check(try await HTTP.request(port: p, "POST", "/v1/score", body: [UInt8](repeating: 0x20, count: 5 << 20), headers: ["Content-Type": "application/json"]), 413, "bytes")
        check(try await HTTP.post(port: p, "/v1/score", json: ["no_such_field": 1]), 422, "unknown field 'no_such_field'")
        check(try await HTTP.post(port: p, "/v1/score", json: ["columns": ["loan_amnt": [1, 2], "person_age": [3]]]), 422, "has 1 values for 2 applicants")
        // An id of <script> is data: escaped in the JSON answer, never markup.
        let script = try await HTTP.post(port: p, "/v1/score", json: ["id": "<script>alert(1)</script>", "loan_amnt": 1000])
        #expect(script.status == 200 && !script.text.contains("<script>") && (script.json as? [String: Any])?["id"] as? String == "<script>alert(1)</script>")
        let metrics = try await HTTP.request(port: p, "GET", "/metrics").text
        #expect(metrics.contains(#"credit_requests_total{face="http",method="score",code="INVALID_ARGUMENT"} 5"#), "\(metrics.prefix(2000))")
        #expect(metrics.contains(#"credit_requests_total{face="http",method="score",code="RESOURCE_EXHAUSTED"} 1"#))
        #expect(metrics.contains("credit_model_info{"))
        await faces.stop()
    }

    @Test func tokenIsRequiredBeyondLoopbackAndChecked() async throws {
        let service = ScoringService(config: ServiceConfig(), loader: { _ in throw CancellationError() }, logger: Logger(label: "t"))
        await #expect(throws: HTTPFaceError.self) { _ = try await startHTTPFace(config: HTTPFaceConfig(host: "0.0.0.0", port: 0), service: service) }
        let faces = try await Faces(token: "s3cret")
        #expect(try await HTTP.request(port: faces.port, "GET", "/v1/model").status == 401)
        #expect(try await HTTP.request(port: faces.port, "GET", "/v1/model", headers: ["Authorization": "Bearer wrong"]).status == 401)
        #expect(try await HTTP.request(port: faces.port, "GET", "/v1/model", headers: ["Authorization": "Bearer s3cret"]).status == 200)
        await faces.stop()
    }

    /// The committed docs/openapi.json is what the server serves, and every path in it answers.
    @Test func openAPIDocumentMatchesTheServer() async throws {
        let faces = try await Faces()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let committed = try String(contentsOf: root.appendingPathComponent("docs/openapi.json"), encoding: .utf8)
        let served = try await HTTP.request(port: faces.port, "GET", "/openapi.json")
        #expect(served.status == 200 && served.text == committed)
        let doc = try #require(served.json as? [String: Any])
        #expect(doc["openapi"] as? String == "3.1.0")
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        for (path, methods) in paths {
            for method in methods.keys {
                let r = method == "post" ? try await HTTP.post(port: faces.port, path, json: ["loan_amnt": 1000])
                                         : try await HTTP.request(port: faces.port, method.uppercased(), path)
                #expect(r.status != 404 && r.status != 405, "\(method) \(path): \(r.status)")
            }
        }
        #expect(try await HTTP.request(port: faces.port, "GET", "/v1/nothing").status == 404)
        await faces.stop()
    }
}
