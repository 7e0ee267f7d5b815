import CreditCore
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import CreditDomain
import CreditService
import CreditWire

/// The protobuf face of the scoring service for one thread: unpacks a request frame in
/// place (protobuf-c, arena), calls the service's method semantics, binds Score columns
/// into the thread's `BatchScorer` straight from the unpacked message, and encodes the
/// answer. Owned by one connection reader or one worker; never shared between threads.
final class WireHandler {
    let encoder = ResponseEncoder()
    private let unpackArena = UnpackArena()
    private let scorer: BatchScorer
    /// The C strings the encoder echoes for the model serving (made once per model).
    private var names: (generation: UInt64, fields: CStringTable, modelId: CStringTable)?
    /// Whether the last frame could not be read as a request (malformed, no method, over
    /// budget, not text): the connection closes after a run of these.
    var lastWasProtocolError = false

    init(service: ScoringService) { scorer = service.makeScorer() }

    /// Answers one request frame; the returned framed bytes are valid until the next call.
    func handle(_ frame: UnsafeRawBufferPointer, core: DaemonCore, isUnix: Bool, receivedAt: UInt64) -> UnsafeRawBufferPointer {
        let service = core.service
        lastWasProtocolError = true
        // Before protobuf-c allocates anything: bound the work and check the strings.
        let scan = RequestScan(frame, elementLimit: core.config.elementBudget)
        if scan.elements > core.config.elementBudget {
            return fail(core, .unknown, UnpackedRequest.peekRequestId(frame), Status(.resourceExhausted,
                "request decodes into more than \(core.config.elementBudget) elements (sub-messages, strings, unknown fields); "
                + "the limit is \(DaemonConfig.elementsPerApplicant) per applicant of --max-applicants"), receivedAt)
        }
        if let problem = scan.problem, !scan.malformed {
            return fail(core, .unknown, UnpackedRequest.peekRequestId(frame), Status(.invalidArgument, "request \(problem)"), receivedAt)
        }
        guard let request = UnpackedRequest(frame, arena: unpackArena) else {
            let id = UnpackedRequest.peekRequestId(frame)
            return fail(core, .unknown, id, Status(.invalidArgument, "malformed request: \(frame.count) bytes are not a valid credit.Request"), receivedAt)
        }
        let id = request.requestId
        let method = Self.method(request.method)
        lastWasProtocolError = request.method == .notSet
        if let late = service.checkDeadline(request.deadlineUnixMicros) { return fail(core, method, id, late, receivedAt) }
        switch request.method {
        case .notSet:
            return fail(core, method, id, Status(.invalidArgument, "request names no method"), receivedAt)
        case .health:
            return reply(core, method, Response(id: id, status: .ok, result: .health(service.health())), receivedAt)
        case .modelInfo:
            switch service.modelInfo() {
            case .success(let info): return reply(core, method, Response(id: id, status: .ok, result: .modelInfo(info)), receivedAt)
            case .failure(let s): return fail(core, method, id, s, receivedAt)
            }
        case .stats:
            return reply(core, method, Response(id: id, status: .ok, result: .stats(service.statsSnapshot())), receivedAt)
        case .reload:
            guard isUnix else {
                return fail(core, method, id, Status(.permissionDenied, "Reload is allowed only on the Unix socket"), receivedAt)
            }
            switch service.reloadRequest(path: request.reloadPath, face: "protobuf") {
            case .success(let (new, old)):
                return reply(core, method, Response(id: id, status: .ok, result: .reload(modelId: new, previousModelId: old)), receivedAt)
            case .failure(let s): return fail(core, method, id, s, receivedAt)
            }
        case .score:
            switch service.modelForScoring() {
            case .failure(let s): return fail(core, method, id, s, receivedAt)
            case .success(let model):
                return request.withScore { view in score(view, id: id, model: model, scan: scan, core: core, receivedAt: receivedAt) }!
            }
        }
    }

    private static func method(_ kind: MethodKind) -> ServiceMethod {
        switch kind {
        case .score: .score
        case .modelInfo: .modelInfo
        case .health: .health
        case .stats: .stats
        case .reload: .reload
        case .notSet: .unknown
        }
    }

    private func score(_ view: ScoreView, id: UInt64, model: LoadedModel, scan: borrowing RequestScan, core: DaemonCore, receivedAt: UInt64) -> UnsafeRawBufferPointer {
        let ids: ScoreView.CStringArray
        switch bind(view, model: model) {
        case .failure(let s): return fail(core, .score, id, s, receivedAt)
        case .success(let i): ids = i
        }
        // Category values that are not text (NUL inside, bad UTF-8): protobuf-c cut or kept
        // them as C strings; the applicant gets a row error, never another applicant's score.
        for bad in scan.badValues {
            let field: UnsafePointer<CChar>
            switch view.form {
            case .columns:
                guard bad.column < view.categoricalCount else { continue }
                field = view.categorical(bad.column).field
            case .row:
                guard bad.column < view.rowFieldCount else { continue }
                field = view.rowField(bad.column).field
            case .empty: continue
            }
            scorer.reject(row: bad.row, field: String(cString: field), value: bad.shown, reason: "value \(bad.problem)")
        }
        if let broken = scorer.score() {
            core.logger.error("backend broke the scoring contract", metadata: ["model": "\(model.info.modelId)", "problem": "\(broken.message)"])
            return fail(core, .score, id, broken, receivedAt)
        }
        let n = self.names(for: model)
        let results = scorer.results
        let bytes = encoder.encodeScore(requestId: id, modelId: n.modelId[0], ids: ids, results: results, fieldNames: n.fields)
        core.metrics.record(.score, .ok, nanos: SystemClock.monotonicNanos() &- receivedAt, rowsScored: results.scoredCount,
                            rowErrors: results.errors.count, refusedRows: scorer.refusedCount)
        return bytes
    }

    /// Binds the request's applicants into the scorer; answers the ids to echo.
    private func bind(_ view: ScoreView, model: LoadedModel) -> Result<ScoreView.CStringArray, Status> {
        switch view.form {
        case .empty:
            return .failure(Status(.invalidArgument, "score request has no input: set columns or row"))
        case .columns:
            let ids = view.ids
            var n = ids.count
            if n == 0 {
                if view.numericCount > 0 { n = view.numeric(0).values.count }
                else if view.categoricalCount > 0 { n = view.categorical(0).values.count }
            }
            if let s = scorer.begin(model: model, count: n, reasons: view.reasons) { return .failure(s) }
            for i in 0..<view.numericCount {
                let (name, values) = view.numeric(i)
                switch scorer.field(named: Self.bytes(name)) {
                case .failure(let s): return .failure(s)
                case .success(let f): if let s = scorer.bindNumeric(f, values) { return .failure(s) }
                }
            }
            for i in 0..<view.categoricalCount {
                let (name, values) = view.categorical(i)
                switch scorer.field(named: Self.bytes(name)) {
                case .failure(let s): return .failure(s)
                case .success(let f):
                    if let s = scorer.bindCategorical(f, valueCount: values.count, text: { values[$0].map { Self.bytes($0) } }) {
                        return .failure(s)
                    }
                }
            }
            return .success(ids)
        case .row:
            if let s = scorer.begin(model: model, count: 1, reasons: view.reasons) { return .failure(s) }
            for i in 0..<view.rowFieldCount {
                let (name, value) = view.rowField(i)
                let f: Int
                switch scorer.field(named: Self.bytes(name)) {
                case .failure(let s): return .failure(s)
                case .success(let i): f = i
                }
                let v: BatchScorer.RowValue = switch value {
                case .number(let x): .number(x)
                case .text(let t): .text(t.pointee.map { Self.bytes($0) })
                case .missing: .missing
                }
                if let s = scorer.setRowValue(f, v) { return .failure(s) }
            }
            let idPointer = view.rowIdPointer
            let hasId = idPointer.pointee.map { $0.pointee != 0 } ?? false
            return .success(ScoreView.CStringArray(start: idPointer, count: hasId ? 1 : 0))
        }
    }

    @inline(__always)
    private static func bytes(_ s: UnsafePointer<CChar>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: s, count: strlen(s))
    }

    private func names(for model: LoadedModel) -> (fields: CStringTable, modelId: CStringTable) {
        if let n = names, n.generation == model.generation { return (n.fields, n.modelId) }
        let n = (generation: model.generation, fields: CStringTable(model.info.fields.map(\.name)), modelId: CStringTable([model.info.modelId]))
        names = n
        return (n.fields, n.modelId)
    }

    private func fail(_ core: DaemonCore, _ method: ServiceMethod, _ id: UInt64, _ status: Status, _ receivedAt: UInt64) -> UnsafeRawBufferPointer {
        reply(core, method, Response(id: id, status: status), receivedAt)
    }

    private func reply(_ core: DaemonCore, _ method: ServiceMethod, _ response: Response, _ receivedAt: UInt64) -> UnsafeRawBufferPointer {
        let bytes = encoder.encode(response)
        core.metrics.record(method, response.status.code, nanos: SystemClock.monotonicNanos() &- receivedAt)
        return bytes
    }
}
