import CreditCore
import CreditDomain
import CreditService
import Foundation
import Hummingbird
import HummingbirdCore

extension HTTPFace {
    /// The endpoints (the same list as `openAPIDocument`'s paths; a test checks both).
    static let paths = ["/v1/score", "/v1/score/csv", "/v1/model", "/v1/model/report", "/v1/portfolio", "/healthz", "/readyz", "/metrics", "/openapi.json"]

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: TokenMiddleware(token: config.token))
        router.post("/v1/score") { request, _ in await self.scorePOST(request) }
        router.get("/v1/score") { request, _ in self.scoreGET(request) }
        router.post("/v1/score/csv") { request, _ in await self.scoreCSV(request) }
        router.get("/v1/model") { _, _ in self.model() }
        router.get("/v1/model/report") { _, _ in self.modelReport() }
        router.get("/v1/portfolio") { _, _ in
            let current = self.service.currentModel
            return self.json(200, PortfolioJSON.render(self.service.portfolio.snapshot(current: current),
                                                       modelId: current?.info.modelId ?? ""), .stats)
        }
        router.get("/healthz") { _, _ in self.json(200, "{\"live\":true}\n", .health) }
        router.get("/readyz") { _, _ in
            let h = self.service.health()
            return self.json(h.ready ? 200 : 503, "{\"ready\":\(h.ready),\"model_id\":\(ScoreJSONWriter.quote(h.modelId))}\n", .health)
        }
        router.get("/metrics") { _, _ in
            self.service.portfolio.publishPSI()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: self.config.metricsText())))
        }
        router.get("/openapi.json") { _, _ in self.json(200, openAPIDocument, .modelInfo, record: false) }
        // The analyst web app (Sources/CreditHTTP/web), with a policy that allows only its
        // own files: no inline script, no other origin.
        router.get("/") { _, _ in Self.page(PackageResources.index_html, "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in Self.page(PackageResources.app_js, "text/javascript; charset=utf-8") }
        router.get("/app.css") { _, _ in Self.page(PackageResources.app_css, "text/css; charset=utf-8") }
        router.get("/charts.js") { _, _ in Self.page(PackageResources.charts_js, "text/javascript; charset=utf-8") }
        router.get("/report.html") { _, _ in Self.page(PackageResources.report_html, "text/html; charset=utf-8") }
        router.get("/report.js") { _, _ in Self.page(PackageResources.report_js, "text/javascript; charset=utf-8") }
        router.get("/portfolio.html") { _, _ in Self.page(PackageResources.portfolio_html, "text/html; charset=utf-8") }
        router.get("/portfolio.js") { _, _ in Self.page(PackageResources.portfolio_js, "text/javascript; charset=utf-8") }
        router.get("/score-file.html") { _, _ in Self.page(PackageResources.score_file_html, "text/html; charset=utf-8") }
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        router.get("/score-file.js") { _, _ in Self.page(PackageResources.score_file_js, "text/javascript; charset=utf-8") }
        return router
    }

    static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

    static func page(_ bytes: [UInt8], _ type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .contentSecurityPolicy: contentSecurityPolicy, .xContentTypeOptions: "nosniff"],
                 body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func reasons(_ uri: URI) -> ReasonDetail {
        uri.queryParameters.get("reasons") == "none" ? .none : .full
    }

    static func isJSON(_ contentType: String?) -> Bool {
        contentType.map { $0.hasPrefix("application/json") } ?? false
    }

    func scorePOST(_ request: Request) async -> Response {
        let started = SystemClock.monotonicNanos()
        guard Self.isJSON(request.headers[.contentType]) else {
            return problem(415, Self.notJSON, started)
        }
        var req = request
        let body: ByteBuffer
        do { body = try await req.collectBody(upTo: config.maxBodyBytes) } catch {
            return problem(413, bodyTooLarge, started)
        }
        return scoreJSON(body, reasons: Self.reasons(request.uri), started: started).response
    }

    func scoreGET(_ request: Request) -> Response {
        scoreQuery(request.uri, started: SystemClock.monotonicNanos()).response
    }

    static let notJSON = "Content-Type must be application/json"
    var bodyTooLarge: String { "body over \(config.maxBodyBytes) bytes" }

    /// `POST /v1/score` once its body is in (the router and the event-loop fast path both
    /// end here, so both faces of the endpoint answer alike).
    func scoreJSON(_ body: ByteBuffer, reasons: ReasonDetail, started: UInt64) -> HTTPAnswer {
        guard case .success(let model) = service.modelForScoring() else { return problemAnswer(503, "no model loaded", started) }
        let applicants: JSONApplicants
        do { applicants = try JSONApplicants.parse(body: Array(buffer: body), idField: model.info.idField) } catch {
            return problemAnswer(error.status, error.message, started)
        }
        return score(applicants, model: model, reasons: reasons, started: started)
    }

    /// `GET /v1/score?field=value&...`: one applicant from the query.
    func scoreQuery(_ uri: URI, started: UInt64) -> HTTPAnswer {
        guard case .success(let model) = service.modelForScoring() else { return problemAnswer(503, "no model loaded", started) }
        let parameters = uri.queryParameters.map { (String($0.key), String($0.value)) }
        let applicants: JSONApplicants
        do { applicants = try JSONApplicants.query(parameters, idField: model.info.idField) } catch {
            return problemAnswer(error.status, error.message, started)
        }
        return score(applicants, model: model, reasons: Self.reasons(uri), started: started)
    }

    private func score(_ applicants: JSONApplicants, model: LoadedModel, reasons: ReasonDetail, started: UInt64) -> HTTPAnswer {
        withScorer { scorer in
            let ids: [String?]
            switch applicants.bind(scorer, model: model, reasons: reasons) {
            case .failure(let s): return problemAnswer(Self.httpStatus(s.code), s.message, started)
            case .success(let i): ids = i
            }
            if let s = scorer.score() { return problemAnswer(Self.httpStatus(s.code), s.message, started) }
            let r = scorer.results
            let bytes = ScoreJSONWriter.results(r, ids: ids, model: model, single: applicants.single)
            metrics.record(.score, .ok, nanos: SystemClock.monotonicNanos() &- started, rowsScored: r.scoredCount,
                           rowErrors: r.errors.count, refusedRows: scorer.refusedCount)
            return HTTPAnswer(status: 200, body: ByteBuffer(bytes: bytes))
        }
    }

    func model() -> Response {
        switch service.modelInfo() {
        case .failure(let s): return problem(Self.httpStatus(s.code), s.message, SystemClock.monotonicNanos(), method: .modelInfo)
        case .success(let info): return json(200, ModelJSON.describe(info), .modelInfo)
        }
    }

    /// The model report stored in the artifact (404 when the model was trained without one).
    func modelReport() -> Response {
        switch service.modelForScoring() {
        case .failure(let s): return problem(Self.httpStatus(s.code), s.message, SystemClock.monotonicNanos(), method: .modelInfo)
        case .success(let m):
            guard let bytes = m.backend.reportJSON else {
                return problem(404, "model \(m.info.modelId) carries no report (trained before reports existed; retrain, or use credit report)",
                               SystemClock.monotonicNanos(), method: .modelInfo)
            }
            metrics.record(.modelInfo, .ok, nanos: 0)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    func json(_ status: Int, _ text: String, _ method: ServiceMethod, record: Bool = true) -> Response {
        if record { metrics.record(method, status == 200 ? .ok : .unavailable, nanos: 0) }
        return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func problem(_ status: Int, _ message: String, _ started: UInt64, method: ServiceMethod = .score) -> Response {
        problemAnswer(status, message, started, method: method).response
    }

    func problemAnswer(_ status: Int, _ message: String, _ started: UInt64, method: ServiceMethod = .score) -> HTTPAnswer {
        metrics.record(method, Self.statusCode(status), nanos: SystemClock.monotonicNanos() &- started)
        return HTTPAnswer(status: status, body: ByteBuffer(string: ScoreJSONWriter.error(status, message)))
    }

    /// The service's status as an HTTP status.
    static func httpStatus(_ code: StatusCode) -> Int {
        switch code {
        case .ok: 200
        case .invalidArgument: 422
        case .deadlineExceeded: 504
        case .permissionDenied: 403
        case .resourceExhausted: 413
        case .unavailable: 503
        case .internal: 500
        }
    }

    /// An HTTP status as the service's code (metrics count both faces alike).
    static func statusCode(_ http: Int) -> StatusCode {
        switch http {
        case 200: .ok
        case 400, 415, 422: .invalidArgument
        case 401, 403: .permissionDenied
        case 413: .resourceExhausted
        case 404, 503: .unavailable
        case 504: .deadlineExceeded
        default: .internal
        }
    }
}

/// A JSON answer, before it becomes a Hummingbird `Response` or the fast path's response parts.
struct HTTPAnswer {
    var status: Int
    var body: ByteBuffer
    var response: Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }
}

/// `Authorization: Bearer TOKEN` on every request when a token is set, compared in constant
/// time.
struct TokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.allows(token: token, authorization: request.headers[.authorization]) else {
            return Response(status: .unauthorized, headers: [.contentType: "application/json", .wwwAuthenticate: "Bearer"],
                            body: .init(byteBuffer: Self.refusal))
        }
        return try await next(request, context)
    }

    static let refusal = ByteBuffer(string: ScoreJSONWriter.error(401, "missing or wrong bearer token"))

    /// No token configured, or the request's `Authorization` is `Bearer TOKEN`.
    static func allows(token: String?, authorization: String?) -> Bool {
        guard let token, !token.isEmpty else { return true }
        return equal(Array((authorization ?? "").utf8), Array("Bearer \(token)".utf8))
    }

    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0
    }
}
