import CreditWire
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Column pointers and storage for building `ColumnarApplicants` without per-applicant
/// allocation. One per scoring context and model; grows to the largest batch seen.
final class ApplicantBuffers {
    let fieldCount: Int
    let numericColumns: UnsafeMutablePointer<UnsafePointer<Double>?>
    let codeColumns: UnsafeMutablePointer<UnsafePointer<Int32>?>
    let textColumns: UnsafeMutablePointer<UnsafePointer<UnsafeMutablePointer<CChar>?>?>
    /// One value per field, for the row form.
    let rowNumbers: UnsafeMutablePointer<Double>
    private(set) var rowCapacity = 0
    /// `fieldCount * rowCapacity` category codes (field-major).
    private(set) var codes: UnsafeMutablePointer<Int32>
    /// `rowCapacity` NaNs: the column of every numeric field not sent.
    private(set) var nans: UnsafeMutablePointer<Double>

    init(fieldCount: Int) {
        self.fieldCount = fieldCount
        numericColumns = .allocate(capacity: max(fieldCount, 1))
        codeColumns = .allocate(capacity: max(fieldCount, 1))
        textColumns = .allocate(capacity: max(fieldCount, 1))
        rowNumbers = .allocate(capacity: max(fieldCount, 1))
        codes = .allocate(capacity: 1)
        nans = .allocate(capacity: 1)
    }

    deinit {
        numericColumns.deallocate()
        codeColumns.deallocate()
        textColumns.deallocate()
        rowNumbers.deallocate()
        codes.deallocate()
        nans.deallocate()
    }

    func begin(rows n: Int) {
        if n > rowCapacity {
            var cap = max(rowCapacity, 16)
            while cap < n { cap *= 2 }
            codes.deallocate()
            nans.deallocate()
            codes = .allocate(capacity: fieldCount * cap)
            nans = .allocate(capacity: cap)
            nans.initialize(repeating: .nan, count: cap)
            rowCapacity = cap
        }
        for f in 0..<fieldCount {
            numericColumns[f] = nil
            codeColumns[f] = nil
            textColumns[f] = nil
        }
    }

    @inline(__always)
    func codeColumn(_ f: Int) -> UnsafeMutablePointer<Int32> { codes + f * rowCapacity }

    /// Points every field not sent at "missing".
    func fillAbsent(_ fields: [SchemaField], rows n: Int) {
        for f in 0..<fieldCount {
            switch fields[f].kind {
            case .numeric:
                if numericColumns[f] == nil { numericColumns[f] = UnsafePointer(nans) }
            case .categorical:
                if codeColumns[f] == nil {
                    let c = codeColumn(f)
                    c.update(repeating: ColumnarApplicants.missing, count: n)
                    codeColumns[f] = UnsafePointer(c)
                }
            }
        }
    }

    func applicants(count: Int, fields: [SchemaField], reasons: ReasonDetail) -> ColumnarApplicants {
        ColumnarApplicants(count: count, fields: fields, reasons: reasons, numericColumns: numericColumns,
                           codeColumns: codeColumns, textColumns: textColumns)
    }
}

private enum Prepared {
    case ok(count: Int, ids: ScoreView.CStringArray)
    case invalid(String)
}

/// Everything one thread needs to turn a request frame into a response frame: reusable
/// results, column buffers, backend scratch and the response encoder. Owned by one
/// connection reader or one worker; never shared between threads.
final class ScoringContext {
    let encoder = ResponseEncoder()
    private let unpackArena = UnpackArena()
    private var results = ScoreResults()
    private var buffers: (generation: UInt64, buffers: ApplicantBuffers)?
    private var scratch: (generation: UInt64, rows: Int, scratch: any ScoringScratch)?

    /// Answers one request frame; the returned framed bytes are valid until the next call.
    func handle(_ frame: UnsafeRawBufferPointer, core: DaemonCore, isUnix: Bool, receivedAt: UInt64) -> UnsafeRawBufferPointer {
        guard let request = UnpackedRequest(frame, arena: unpackArena) else {
            let id = UnpackedRequest.peekRequestId(frame)
            return fail(core, id, .invalidArgument, "malformed request: \(frame.count) bytes are not a valid credit.Request", receivedAt)
        }
        let id = request.requestId
        let deadline = request.deadlineUnixMicros
        if deadline != 0 {
            let now = unixMicros()
            if now > deadline {
                return fail(core, id, .deadlineExceeded, "deadline passed \(now - deadline) us before the request was handled; not scored", receivedAt)
            }
        }
        switch request.method {
        case .notSet:
            return fail(core, id, .invalidArgument, "request names no method", receivedAt)
        case .health:
            let m = core.slot.get()
            return reply(core, Response(id: id, status: .ok, result: .health(Health(live: true, ready: m != nil, modelId: m?.info.modelId ?? ""))), receivedAt)
        case .modelInfo:
            guard let m = core.slot.get() else { return fail(core, id, .unavailable, "no model loaded", receivedAt) }
            return reply(core, Response(id: id, status: .ok, result: .modelInfo(m.info)), receivedAt)
        case .stats:
            return reply(core, Response(id: id, status: .ok, result: .stats(core.stats.snapshot())), receivedAt)
        case .reload:
            guard isUnix else {
                return fail(core, id, .permissionDenied, "Reload is allowed only on the Unix socket", receivedAt)
            }
            guard let path = request.reloadPath, !path.isEmpty else {
                return fail(core, id, .invalidArgument, "Reload needs a path", receivedAt)
            }
            do {
                let (new, old) = try core.reload(path: path, reason: "Reload request")
                return reply(core, Response(id: id, status: .ok, result: .reload(modelId: new.info.modelId, previousModelId: old?.info.modelId ?? "")), receivedAt)
            } catch {
                return fail(core, id, .internal, "\(error); still serving \(core.slot.get()?.info.modelId ?? "no model")", receivedAt)
            }
        case .score:
            guard let model = core.slot.get() else { return fail(core, id, .unavailable, "no model loaded", receivedAt) }
            return request.withScore { view in
                score(view, id: id, model: model, core: core, receivedAt: receivedAt)
            }!
        }
    }

    private func score(_ view: ScoreView, id: UInt64, model: LoadedModel, core: DaemonCore, receivedAt: UInt64) -> UnsafeRawBufferPointer {
        let b = buffers(for: model)
        switch prepare(view, model: model, buffers: b, maxApplicants: core.config.maxApplicants) {
        case .invalid(let message):
            return fail(core, id, .invalidArgument, message, receivedAt)
        case .ok(let n, let ids):
            run(model: model, buffers: b, count: n, reasons: view.reasons)
            if let problem = checkComplete() {
                core.logger.error("backend broke the scoring contract", metadata: ["model": "\(model.info.modelId)", "problem": "\(problem)"])
                return fail(core, id, .internal, "model \(model.info.modelId): \(problem)", receivedAt)
            }
            let bytes = encoder.encodeScore(requestId: id, modelId: model.modelIdC[0], ids: ids,
                                            results: results, fieldNames: model.fieldNames)
            core.stats.record(code: .ok, nanos: monotonicNanos() &- receivedAt,
                              rowsScored: results.scoredCount, rowErrors: results.errors.count)
            return bytes
        }
    }

    /// Scores one applicant with every field missing (model verification at load).
    func scoreAllMissing(model: LoadedModel, into out: inout ScoreResults) {
        let b = buffers(for: model)
        b.begin(rows: 1)
        b.fillAbsent(model.info.fields, rows: 1)
        run(model: model, buffers: b, count: 1, reasons: .full)
        out = results
    }

    private func run(model: LoadedModel, buffers b: ApplicantBuffers, count n: Int, reasons: ReasonDetail) {
        results.reset(count: n)
        let batch = b.applicants(count: n, fields: model.info.fields, reasons: reasons)
        model.backend.score(batch, into: &results, scratch: scratch(for: model, rows: n))
    }

    private func checkComplete() -> String? {
        var unset = 0
        for i in 0..<results.count where results.decision[i] == .unspecified { unset += 1 }
        if unset != results.errors.count {
            return "\(unset - results.errors.count) applicants were left without a score or a row error"
        }
        return nil
    }

    private func buffers(for model: LoadedModel) -> ApplicantBuffers {
        if let b = buffers, b.generation == model.generation, model.generation != 0 { return b.buffers }
        let b = ApplicantBuffers(fieldCount: model.info.fields.count)
        if model.generation != 0 { buffers = (model.generation, b) }
        return b
    }

    private func scratch(for model: LoadedModel, rows: Int) -> any ScoringScratch {
        if let s = scratch, s.generation == model.generation, s.rows >= rows, model.generation != 0 { return s.scratch }
        var cap = 16
        while cap < rows { cap *= 2 }
        let s = model.backend.makeScratch(maxRows: cap)
        if model.generation != 0 { scratch = (model.generation, cap, s) }
        return s
    }

    private func prepare(_ view: ScoreView, model: LoadedModel, buffers b: ApplicantBuffers, maxApplicants: Int) -> Prepared {
        let fields = model.info.fields
        switch view.form {
        case .empty:
            return .invalid("score request has no input: set columns or row")
        case .columns:
            let ids = view.ids
            var n = ids.count
            if n == 0 {
                if view.numericCount > 0 { n = view.numeric(0).values.count }
                else if view.categoricalCount > 0 { n = view.categorical(0).values.count }
            }
            if n == 0 { return .invalid("score request has no applicants") }
            if n > maxApplicants { return .invalid("\(n) applicants in one request; the limit is \(maxApplicants)") }
            b.begin(rows: n)
            for i in 0..<view.numericCount {
                let (name, values) = view.numeric(i)
                guard let f = model.fieldNames.index(of: name) else { return .invalid(unknownField(name, model)) }
                guard fields[f].kind == .numeric else {
                    return .invalid("field '\(fields[f].name)' is categorical; send it as a categorical column")
                }
                guard values.count == n else {
                    return .invalid("numeric column '\(fields[f].name)' has \(values.count) values for \(n) applicants")
                }
                guard b.numericColumns[f] == nil else { return .invalid("field '\(fields[f].name)' is sent twice") }
                b.numericColumns[f] = values.baseAddress
            }
            for i in 0..<view.categoricalCount {
                let (name, values) = view.categorical(i)
                guard let f = model.fieldNames.index(of: name) else { return .invalid(unknownField(name, model)) }
                guard fields[f].kind == .categorical else {
                    return .invalid("field '\(fields[f].name)' is numeric; send it as a numeric column")
                }
                guard values.count == n else {
                    return .invalid("categorical column '\(fields[f].name)' has \(values.count) values for \(n) applicants")
                }
                guard b.codeColumns[f] == nil else { return .invalid("field '\(fields[f].name)' is sent twice") }
                let codes = b.codeColumn(f)
                let table = model.categories[f]
                for r in 0..<n {
                    if let s = values[r], s.pointee != 0 {
                        codes[r] = table.index(of: s).map { Int32($0) } ?? ColumnarApplicants.unknown
                    } else {
                        codes[r] = ColumnarApplicants.missing
                    }
                }
                b.codeColumns[f] = UnsafePointer(codes)
                b.textColumns[f] = values.baseAddress.map { UnsafePointer($0) }
            }
            b.fillAbsent(fields, rows: n)
            return .ok(count: n, ids: ids)
        case .row:
            b.begin(rows: 1)
            for i in 0..<view.rowFieldCount {
                let (name, value) = view.rowField(i)
                guard let f = model.fieldNames.index(of: name) else { return .invalid(unknownField(name, model)) }
                guard b.numericColumns[f] == nil && b.codeColumns[f] == nil else {
                    return .invalid("field '\(fields[f].name)' is sent twice")
                }
                switch (value, fields[f].kind) {
                case (.number(let x), .numeric):
                    b.rowNumbers[f] = x
                    b.numericColumns[f] = UnsafePointer(b.rowNumbers + f)
                case (.text(let t), .categorical):
                    let c = b.codeColumn(f)
                    if let s = t.pointee, s.pointee != 0 {
                        c[0] = model.categories[f].index(of: s).map { Int32($0) } ?? ColumnarApplicants.unknown
                    } else {
                        c[0] = ColumnarApplicants.missing
                    }
                    b.codeColumns[f] = UnsafePointer(c)
                    b.textColumns[f] = UnsafePointer(t)
                case (.number(let x), .categorical):
                    return .invalid("field '\(fields[f].name)' is categorical; got the number \(x)")
                case (.text(let t), .numeric):
                    return .invalid("field '\(fields[f].name)' is numeric; got the text '\(t.pointee.map { String(cString: $0) } ?? "")'")
                case (.missing, _):
                    break
                }
            }
            b.fillAbsent(fields, rows: 1)
            let idPointer = view.rowIdPointer
            let hasId = idPointer.pointee.map { $0.pointee != 0 } ?? false
            return .ok(count: 1, ids: ScoreView.CStringArray(start: idPointer, count: hasId ? 1 : 0))
        }
    }

    private func unknownField(_ name: UnsafePointer<CChar>, _ model: LoadedModel) -> String {
        "unknown field '\(String(cString: name))'; model \(model.info.modelId) takes: \(model.info.fields.map(\.name).joined(separator: ", "))"
    }

    private func fail(_ core: DaemonCore, _ id: UInt64, _ code: StatusCode, _ message: String, _ receivedAt: UInt64) -> UnsafeRawBufferPointer {
        reply(core, Response(id: id, status: Status(code, message)), receivedAt)
    }

    private func reply(_ core: DaemonCore, _ response: Response, _ receivedAt: UInt64) -> UnsafeRawBufferPointer {
        let bytes = encoder.encode(response)
        core.stats.record(code: response.status.code, nanos: monotonicNanos() &- receivedAt)
        return bytes
    }
}
