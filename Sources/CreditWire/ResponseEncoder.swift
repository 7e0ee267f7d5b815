import CCreditProto
import CreditDomain
import CProtobufC
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Encodes responses into one reusable framed output buffer. One encoder per thread; after
/// warm-up it allocates nothing (its arena and buffer are reused).
public final class ResponseEncoder {
    private let arena = Arena()
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int

    public init(initialCapacity: Int = 16 * 1024) {
        capacity = initialCapacity
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Encodes `response` (any method); returns the framed bytes, valid until the next call.
    public func encode(_ response: Response) -> UnsafeRawBufferPointer {
        arena.reset()
        var msg = Credit__Response()
        credit__response__init(&msg)
        msg.request_id = response.requestId
        msg.status = makeStatus(response.status)
        switch response.result {
        case .none: break
        case .score(let s):
            msg.result_case = CREDIT__RESPONSE__RESULT_SCORE
            let r = arena.allocate(Credit__ScoreResponse.self)
            credit__score_response__init(r)
            r.pointee.model_id = arena.cString(s.modelId)
            r.pointee.n_ids = s.ids.count
            r.pointee.ids = arena.cStrings(s.ids)
            r.pointee.n_probability = s.probability.count
            r.pointee.probability = arena.copy(s.probability)
            r.pointee.n_decision = s.decision.count
            r.pointee.decision = arena.copy(s.decision.map { Credit__Decision(rawValue: UInt32($0.rawValue)) })
            r.pointee.n_reason_count = s.reasons.count
            r.pointee.reason_count = arena.copy(s.reasons.map { UInt32($0.count) })
            let flat = s.reasons.flatMap { $0 }
            r.pointee.n_reason_feature = flat.count
            r.pointee.reason_feature = arena.cStrings(flat.map(\.feature))
            r.pointee.n_reason_text = flat.count
            r.pointee.reason_text = arena.cStrings(flat.map(\.text))
            r.pointee.n_reason_contribution = flat.count
            r.pointee.reason_contribution = arena.copy(flat.map(\.contribution))
            setErrors(r, s.errors)
            msg.score = r
        case .modelInfo(let m):
            msg.result_case = CREDIT__RESPONSE__RESULT_MODEL_INFO
            let r = arena.allocate(Credit__ModelInfoResponse.self)
            credit__model_info_response__init(r)
            r.pointee.model_id = arena.cString(m.modelId)
            r.pointee.algorithm = arena.cString(m.algorithm)
            r.pointee.threshold = m.threshold
            r.pointee.threshold_mode = arena.cString(m.thresholdMode)
            r.pointee.id_field = arena.cString(m.idField)
            r.pointee.query = arena.cString(m.query)
            r.pointee.signer_key_id = arena.cString(m.signerKeyId)
            r.pointee.n_fields = m.fields.count
            r.pointee.fields = arena.allocate(UnsafeMutablePointer<Credit__SchemaField>?.self, count: m.fields.count)
            for (i, f) in m.fields.enumerated() {
                let sf = arena.allocate(Credit__SchemaField.self)
                credit__schema_field__init(sf)
                sf.pointee.name = arena.cString(f.name)
                sf.pointee.kind = f.kind == .categorical ? CREDIT__FIELD_KIND__CATEGORICAL : CREDIT__FIELD_KIND__NUMERIC
                sf.pointee.n_categories = f.categories.count
                sf.pointee.categories = arena.cStrings(f.categories)
                r.pointee.fields[i] = sf
            }
            r.pointee.n_metrics = m.metrics.count
            r.pointee.metrics = arena.allocate(UnsafeMutablePointer<Credit__Metric>?.self, count: m.metrics.count)
            for (i, x) in m.metrics.enumerated() {
                let mm = arena.allocate(Credit__Metric.self)
                credit__metric__init(mm)
                mm.pointee.name = arena.cString(x.name)
                mm.pointee.value = x.value
                r.pointee.metrics[i] = mm
            }
            msg.model_info = r
        case .health(let h):
            msg.result_case = CREDIT__RESPONSE__RESULT_HEALTH
            let r = arena.allocate(Credit__HealthResponse.self)
            credit__health_response__init(r)
            r.pointee.live = h.live ? 1 : 0
            r.pointee.ready = h.ready ? 1 : 0
            r.pointee.model_id = arena.cString(h.modelId)
            msg.health = r
        case .stats(let s):
            msg.result_case = CREDIT__RESPONSE__RESULT_STATS
            let r = arena.allocate(Credit__StatsResponse.self)
            credit__stats_response__init(r)
            r.pointee.requests = s.requests
            r.pointee.rows_scored = s.rowsScored
            r.pointee.row_errors = s.rowErrors
            r.pointee.connections_accepted = s.connectionsAccepted
            r.pointee.connections_open = s.connectionsOpen
            let codes = StatusCode.allCases.filter { (s.byCode[$0] ?? 0) > 0 }
            r.pointee.n_by_code = codes.count
            r.pointee.by_code = arena.allocate(UnsafeMutablePointer<Credit__CodeCount>?.self, count: codes.count)
            for (i, c) in codes.enumerated() {
                let cc = arena.allocate(Credit__CodeCount.self)
                credit__code_count__init(cc)
                cc.pointee.code = Credit__Code(rawValue: UInt32(c.rawValue))
                cc.pointee.count = s.byCode[c] ?? 0
                r.pointee.by_code[i] = cc
            }
            let l = arena.allocate(Credit__LatencySummary.self)
            credit__latency_summary__init(l)
            l.pointee.count = s.latency.count
            l.pointee.mean_micros = s.latency.meanMicros
            l.pointee.p50_micros = s.latency.p50Micros
            l.pointee.p90_micros = s.latency.p90Micros
            l.pointee.p99_micros = s.latency.p99Micros
            l.pointee.max_micros = s.latency.maxMicros
            r.pointee.latency = l
            msg.stats = r
        case .reload(let modelId, let previous):
            msg.result_case = CREDIT__RESPONSE__RESULT_RELOAD
            let r = arena.allocate(Credit__ReloadResponse.self)
            credit__reload_response__init(r)
            r.pointee.model_id = arena.cString(modelId)
            r.pointee.previous_model_id = arena.cString(previous)
            msg.reload = r
        }
        return pack(&msg)
    }

    /// Encodes a Score answer straight from `results` (the hot path: no per-applicant
    /// allocation once warm). `ids` are echoed as given (C strings from the request);
    /// `fieldNames` maps `results.reasonField` to names.
    public func encodeScore(requestId: UInt64, modelId: UnsafeMutablePointer<CChar>,
                            ids: ScoreView.CStringArray, results: ScoreResults,
                            fieldNames: CStringTable) -> UnsafeRawBufferPointer {
        arena.reset()
        var msg = Credit__Response()
        credit__response__init(&msg)
        msg.request_id = requestId
        msg.status = makeStatus(.ok)
        let r = arena.allocate(Credit__ScoreResponse.self)
        credit__score_response__init(r)
        let n = results.count
        r.pointee.model_id = modelId
        r.pointee.n_ids = ids.count
        r.pointee.ids = UnsafeMutablePointer(mutating: ids.baseAddress)
        r.pointee.n_probability = n
        r.pointee.probability = arena.copy(results.probability)
        let decisions = arena.allocate(Credit__Decision.self, count: n)
        let counts = arena.allocate(UInt32.self, count: n)
        var total = 0
        for i in 0..<n {
            decisions[i] = Credit__Decision(rawValue: UInt32(results.decision[i].rawValue))
            counts[i] = UInt32(results.reasonCount[i])
            total += Int(results.reasonCount[i])
        }
        r.pointee.n_decision = n
        r.pointee.decision = decisions
        r.pointee.n_reason_count = n
        r.pointee.reason_count = counts
        let features = arena.allocate(UnsafeMutablePointer<CChar>?.self, count: total)
        let texts = arena.allocate(UnsafeMutablePointer<CChar>?.self, count: total)
        let contributions = arena.allocate(Double.self, count: total)
        var k = 0
        for i in 0..<n {
            for j in 0..<Int(results.reasonCount[i]) {
                let slot = i * ScoreResults.maxReasons + j
                let f = Int(results.reasonField[slot])
                features[k] = f >= 0 && f < fieldNames.count ? fieldNames[f] : arena.cString("")
                texts[k] = arena.cString(results.reasonText[slot])
                contributions[k] = results.reasonContribution[slot]
                k += 1
            }
        }
        r.pointee.n_reason_feature = total
        r.pointee.reason_feature = features
        r.pointee.n_reason_text = total
        r.pointee.reason_text = texts
        r.pointee.n_reason_contribution = total
        r.pointee.reason_contribution = contributions
        setErrors(r, results.errors)
        msg.result_case = CREDIT__RESPONSE__RESULT_SCORE
        msg.score = r
        return pack(&msg)
    }

    private func setErrors(_ r: UnsafeMutablePointer<Credit__ScoreResponse>, _ errors: [RowError]) {
        r.pointee.n_errors = errors.count
        r.pointee.errors = arena.allocate(UnsafeMutablePointer<Credit__RowError>?.self, count: errors.count)
        for (i, e) in errors.enumerated() {
            let re = arena.allocate(Credit__RowError.self)
            credit__row_error__init(re)
            re.pointee.index = UInt32(truncatingIfNeeded: e.row)
            re.pointee.field = arena.cString(e.field)
            re.pointee.value = arena.cString(e.value)
            re.pointee.reason = arena.cString(e.reason)
            r.pointee.errors[i] = re
        }
    }

    private func makeStatus(_ s: Status) -> UnsafeMutablePointer<Credit__Status> {
        let st = arena.allocate(Credit__Status.self)
        credit__status__init(st)
        st.pointee.code = Credit__Code(rawValue: UInt32(s.code.rawValue))
        st.pointee.message = arena.cString(s.message)
        return st
    }

    private func pack(_ msg: inout Credit__Response) -> UnsafeRawBufferPointer {
        let size = credit__response__get_packed_size(&msg)
        let total = size + Frame.headerBytes
        if capacity > FrameDecoder.keptCapacity && total <= FrameDecoder.keptCapacity {
            // One big answer must not pin its buffer: back to the kept size.
            buffer.deallocate()
            capacity = FrameDecoder.keptCapacity
            buffer = .allocate(byteCount: capacity, alignment: 16)
        }
        if total > capacity {
            buffer.deallocate()
            while capacity < total { capacity *= 2 }
            buffer = .allocate(byteCount: capacity, alignment: 16)
        }
        let n = UInt32(size)
        buffer.storeBytes(of: n.bigEndian, as: UInt32.self)
        let written = credit__response__pack(&msg, buffer.advanced(by: Frame.headerBytes).assumingMemoryBound(to: UInt8.self))
        precondition(written == size, "protobuf-c packed \(written) of \(size) bytes")
        return UnsafeRawBufferPointer(start: buffer, count: total)
    }
}

extension Response {
    /// Serialized message without the frame header (tests and tools).
    public func serialized() -> [UInt8] {
        let encoder = ResponseEncoder()
        return withExtendedLifetime(encoder) { Array(encoder.encode(self).dropFirst(Frame.headerBytes)) }
    }
}
