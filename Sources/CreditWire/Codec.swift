import CCreditProto
import CreditDomain
import CProtobufC
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Which method a request calls.
public enum MethodKind: Sendable, Equatable {
    case notSet, score, modelInfo, health, stats, reload
}

/// A `Request` unpacked by libprotobuf-c, owned here and freed exactly once (deinit) through
/// protobuf-c's allocator. Read it in place; nothing is copied out except on demand.
///
/// Hazards of libprotobuf-c 1.4.1's unpack that callers must respect: it allocates every
/// repeated field from a count read off the wire without an overflow check, and recurses
/// without a depth limit. So: cap the frame length before calling `unpack` (the daemon's
/// `FrameDecoder` does), cap the applicants after (the daemon does), and keep the .proto's
/// message types non-recursive (they are).
public struct UnpackedRequest: ~Copyable {
    private let raw: UnsafeMutablePointer<Credit__Request>
    private let arena: UnpackArena?

    /// Unpacks with protobuf-c's default allocator (malloc); nil when the bytes are not a
    /// valid `Request`.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        let p = bytes.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) }
        guard let r = credit__request__unpack(nil, bytes.count, p ?? UnsafePointer(bitPattern: 1)!) else { return nil }
        raw = r
        arena = nil
    }

    /// Unpacks into `arena` (the daemon's hot path: no malloc per sub-message). The arena
    /// holds one message at a time; unpacking another before this one is gone is a
    /// programmer error.
    public init?(_ bytes: UnsafeRawBufferPointer, arena: UnpackArena) {
        precondition(!arena.live, "UnpackArena already holds a live message")
        arena.arena.reset()
        let p = bytes.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) }
        guard let r = credit__request__unpack(arena.allocator, bytes.count, p ?? UnsafePointer(bitPattern: 1)!) else { return nil }
        raw = r
        arena.live = true
        self.arena = arena
    }

    deinit {
        if let arena {
            // Everything came from the arena: freeing it all is a reset, so walking the
            // message with free_unpacked (whose frees are no-ops here) is skipped. Reset now,
            // not at the next unpack, so that blocks beyond the kept megabyte that one huge
            // frame made go back at once instead of staying with an idle worker.
            arena.arena.reset()
            arena.live = false
        } else {
            credit__request__free_unpacked(raw, nil)
        }
    }

    public var requestId: UInt64 { raw.pointee.request_id }
    public var deadlineUnixMicros: UInt64 { raw.pointee.deadline_unix_micros }

    public var method: MethodKind {
        switch raw.pointee.method_case {
        case CREDIT__REQUEST__METHOD_SCORE: .score
        case CREDIT__REQUEST__METHOD_MODEL_INFO: .modelInfo
        case CREDIT__REQUEST__METHOD_HEALTH: .health
        case CREDIT__REQUEST__METHOD_STATS: .stats
        case CREDIT__REQUEST__METHOD_RELOAD: .reload
        default: .notSet
        }
    }

    public var reloadPath: String? {
        guard raw.pointee.method_case == CREDIT__REQUEST__METHOD_RELOAD, let r = raw.pointee.reload,
              let path = r.pointee.path else { return nil }
        return String(cString: path)
    }

    /// Calls `body` with a view of the Score input; the view must not escape `body`.
    /// nil when the method is not Score.
    public func withScore<R>(_ body: (ScoreView) throws -> R) rethrows -> R? {
        guard raw.pointee.method_case == CREDIT__REQUEST__METHOD_SCORE, let s = raw.pointee.score else { return nil }
        return try body(ScoreView(s))
    }

    /// The whole request as Swift values (copies; for tests and tools, not the hot path).
    public func toRequest() -> Request {
        let m: Request.Method
        var reasons = ReasonDetail.full
        switch method {
        case .score:
            m = .score(withScore { $0.toScoreInput() }!)
            reasons = withScore { $0.reasons }!
        case .modelInfo: m = .modelInfo
        case .health: m = .health
        case .stats: m = .stats
        case .reload: m = .reload(path: reloadPath ?? "")
        case .notSet: m = .health
        }
        return Request(id: requestId, deadlineUnixMicros: deadlineUnixMicros, reasons: reasons, m)
    }

    /// Best-effort request id of a message that failed to unpack: the value of field 1 when
    /// the message starts with it (as protobuf-c and most encoders write it), else 0.
    public static func peekRequestId(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard bytes.count >= 2, bytes[0] == 0x08 else { return 0 }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for i in 1..<min(bytes.count, 11) {
            let b = bytes[i]
            value |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return value }
            shift += 7
        }
        return 0
    }
}

/// A non-owning view of a Score request inside an `UnpackedRequest`.
public struct ScoreView {
    public typealias CStringArray = UnsafeBufferPointer<UnsafeMutablePointer<CChar>?>
    private let raw: UnsafeMutablePointer<Credit__ScoreRequest>

    init(_ raw: UnsafeMutablePointer<Credit__ScoreRequest>) { self.raw = raw }

    public enum Form { case columns, row, empty }

    /// The requested reason detail; an unknown value (a newer client) means full reasons.
    public var reasons: ReasonDetail {
        ReasonDetail(rawValue: Int32(bitPattern: UInt32(raw.pointee.reasons.rawValue))) ?? .full
    }

    public var form: Form {
        switch raw.pointee.input_case {
        case CREDIT__SCORE_REQUEST__INPUT_COLUMNS: raw.pointee.columns != nil ? .columns : .empty
        case CREDIT__SCORE_REQUEST__INPUT_ROW: raw.pointee.row != nil ? .row : .empty
        default: .empty
        }
    }

    // Columns form ------------------------------------------------------------------

    private var columns: UnsafeMutablePointer<Credit__Columns> { raw.pointee.columns! }

    public var ids: CStringArray { CStringArray(start: columns.pointee.ids, count: columns.pointee.n_ids) }
    public var numericCount: Int { columns.pointee.n_numeric }
    public var categoricalCount: Int { columns.pointee.n_categorical }

    /// Field name and values of numeric column `i` (values point into the message).
    public func numeric(_ i: Int) -> (field: UnsafePointer<CChar>, values: UnsafeBufferPointer<Double>) {
        let c = columns.pointee.numeric[i]!
        return (UnsafePointer(c.pointee.field ?? emptyCString), UnsafeBufferPointer(start: c.pointee.values, count: c.pointee.n_values))
    }

    public func categorical(_ i: Int) -> (field: UnsafePointer<CChar>, values: CStringArray) {
        let c = columns.pointee.categorical[i]!
        return (UnsafePointer(c.pointee.field ?? emptyCString), CStringArray(start: c.pointee.values, count: c.pointee.n_values))
    }

    // Row form ----------------------------------------------------------------------

    private var row: UnsafeMutablePointer<Credit__ApplicantRow> { raw.pointee.row! }

    /// The row's id as a one-element C-string array (for echoing).
    public var rowIdPointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        credit_applicant_row_id_address(row)
    }
    public var rowFieldCount: Int { row.pointee.n_fields }

    public enum RowValue {
        case number(Double)
        case text(UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>)
        case missing
    }

    public func rowField(_ i: Int) -> (field: UnsafePointer<CChar>, value: RowValue) {
        let f = row.pointee.fields[i]!
        let name = UnsafePointer(f.pointee.field ?? emptyCString)
        switch f.pointee.value_case {
        case CREDIT__FIELD_VALUE__VALUE_NUMBER: return (name, .number(f.pointee.number))
        case CREDIT__FIELD_VALUE__VALUE_TEXT:
            return (name, .text(credit_field_value_text_address(f)))
        default: return (name, .missing)
        }
    }

    /// Copies into Swift values (tests and tools).
    public func toScoreInput() -> ScoreInput {
        switch form {
        case .columns:
            var b = ColumnBatch()
            b.ids = ids.map { String(cString: $0 ?? emptyCString) }
            for i in 0..<numericCount {
                let c = numeric(i)
                b.numeric.append((String(cString: c.field), Array(c.values)))
            }
            for i in 0..<categoricalCount {
                let c = categorical(i)
                b.categorical.append((String(cString: c.field), c.values.map { String(cString: $0 ?? emptyCString) }))
            }
            return .columns(b)
        case .row:
            var r = ApplicantRow(id: String(cString: rowIdPointer.pointee ?? emptyCString), fields: [])
            for i in 0..<rowFieldCount {
                let f = rowField(i)
                switch f.value {
                case .number(let x): r.fields.append((String(cString: f.field), .number(x)))
                case .text(let t): r.fields.append((String(cString: f.field), .text(String(cString: t.pointee ?? emptyCString))))
                case .missing: r.fields.append((String(cString: f.field), .number(.nan)))
                }
            }
            return .row(r)
        case .empty:
            return .columns(ColumnBatch())
        }
    }
}

nonisolated(unsafe) private let emptyCString: UnsafeMutablePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
    p.pointee = 0
    return p
}()

// MARK: - Encoding requests (clients)

extension Request {
    /// The serialized message (no frame header).
    public func serialized() -> [UInt8] {
        let arena = Arena()
        return withExtendedLifetime(arena) { serialize(arena) }
    }

    private func serialize(_ arena: Arena) -> [UInt8] {
        var msg = Credit__Request()
        credit__request__init(&msg)
        msg.request_id = requestId
        msg.deadline_unix_micros = deadlineUnixMicros
        switch method {
        case .score(let input):
            let s = arena.allocate(Credit__ScoreRequest.self)
            credit__score_request__init(s)
            switch input {
            case .columns(let b):
                let c = arena.allocate(Credit__Columns.self)
                credit__columns__init(c)
                c.pointee.n_ids = b.ids.count
                c.pointee.ids = arena.cStrings(b.ids)
                c.pointee.n_numeric = b.numeric.count
                c.pointee.numeric = arena.allocate(UnsafeMutablePointer<Credit__NumericColumn>?.self, count: b.numeric.count)
                for (i, col) in b.numeric.enumerated() {
                    let n = arena.allocate(Credit__NumericColumn.self)
                    credit__numeric_column__init(n)
                    n.pointee.field = arena.cString(col.field)
                    n.pointee.n_values = col.values.count
                    n.pointee.values = arena.copy(col.values)
                    c.pointee.numeric[i] = n
                }
                c.pointee.n_categorical = b.categorical.count
                c.pointee.categorical = arena.allocate(UnsafeMutablePointer<Credit__CategoricalColumn>?.self, count: b.categorical.count)
                for (i, col) in b.categorical.enumerated() {
                    let n = arena.allocate(Credit__CategoricalColumn.self)
                    credit__categorical_column__init(n)
                    n.pointee.field = arena.cString(col.field)
                    n.pointee.n_values = col.values.count
                    n.pointee.values = arena.cStrings(col.values)
                    c.pointee.categorical[i] = n
                }
                s.pointee.input_case = CREDIT__SCORE_REQUEST__INPUT_COLUMNS
                s.pointee.columns = c
            case .row(let r):
                let row = arena.allocate(Credit__ApplicantRow.self)
                credit__applicant_row__init(row)
                row.pointee.id = arena.cString(r.id)
                row.pointee.n_fields = r.fields.count
                row.pointee.fields = arena.allocate(UnsafeMutablePointer<Credit__FieldValue>?.self, count: r.fields.count)
                for (i, f) in r.fields.enumerated() {
                    let v = arena.allocate(Credit__FieldValue.self)
                    credit__field_value__init(v)
                    v.pointee.field = arena.cString(f.field)
                    switch f.value {
                    case .number(let x):
                        v.pointee.value_case = CREDIT__FIELD_VALUE__VALUE_NUMBER
                        v.pointee.number = x
                    case .text(let t):
                        v.pointee.value_case = CREDIT__FIELD_VALUE__VALUE_TEXT
                        v.pointee.text = arena.cString(t)
                    }
                    row.pointee.fields[i] = v
                }
                s.pointee.input_case = CREDIT__SCORE_REQUEST__INPUT_ROW
                s.pointee.row = row
            }
            s.pointee.reasons = Credit__ReasonDetail(rawValue: UInt32(bitPattern: reasons.rawValue))
            msg.method_case = CREDIT__REQUEST__METHOD_SCORE
            msg.score = s
        case .modelInfo:
            let m = arena.allocate(Credit__ModelInfoRequest.self)
            credit__model_info_request__init(m)
            msg.method_case = CREDIT__REQUEST__METHOD_MODEL_INFO
            msg.model_info = m
        case .health:
            let m = arena.allocate(Credit__HealthRequest.self)
            credit__health_request__init(m)
            msg.method_case = CREDIT__REQUEST__METHOD_HEALTH
            msg.health = m
        case .stats:
            let m = arena.allocate(Credit__StatsRequest.self)
            credit__stats_request__init(m)
            msg.method_case = CREDIT__REQUEST__METHOD_STATS
            msg.stats = m
        case .reload(let path):
            let m = arena.allocate(Credit__ReloadRequest.self)
            credit__reload_request__init(m)
            m.pointee.path = arena.cString(path)
            msg.method_case = CREDIT__REQUEST__METHOD_RELOAD
            msg.reload = m
        }
        let size = credit__request__get_packed_size(&msg)
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBufferPointer { credit__request__pack(&msg, $0.baseAddress!) }
        precondition(written == size)
        return out
    }

    /// Header + serialized message, ready to write to a socket.
    public func framed() -> [UInt8] { Frame.encode(serialized()) }
}

// MARK: - Decoding responses (clients)

/// Bytes that are not a valid `Response`.
public struct MalformedMessage: Error, CustomStringConvertible {
    public var byteCount: Int
    public var description: String { "malformed message (\(byteCount) bytes): not a valid credit.Response" }
}

@inline(__always)
private func str(_ p: UnsafeMutablePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }

extension Response {
    /// Decodes a serialized `Response` (no frame header). Copies everything into Swift values.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(MalformedMessage) {
        let p = bytes.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? UnsafePointer(bitPattern: 1)!
        guard let r = credit__response__unpack(nil, bytes.count, p) else { throw MalformedMessage(byteCount: bytes.count) }
        defer { credit__response__free_unpacked(r, nil) }
        var status = Status.ok
        if let s = r.pointee.status {
            status = Status(StatusCode(rawValue: Int32(bitPattern: s.pointee.code.rawValue)) ?? .internal, str(s.pointee.message))
        }
        var result: Result?
        switch r.pointee.result_case {
        case CREDIT__RESPONSE__RESULT_SCORE:
            let s = r.pointee.score!.pointee
            var reasons = [[Reason]]()
            var k = 0
            for i in 0..<s.n_reason_count {
                var list = [Reason]()
                for _ in 0..<Int(s.reason_count[i]) where k < s.n_reason_feature && k < s.n_reason_text && k < s.n_reason_contribution {
                    list.append(Reason(feature: str(s.reason_feature[k]), text: str(s.reason_text[k]), contribution: s.reason_contribution[k]))
                    k += 1
                }
                reasons.append(list)
            }
            var errors = [RowError]()
            for i in 0..<s.n_errors {
                let e = s.errors[i]!.pointee
                errors.append(RowError(row: Int(e.index), field: str(e.field), value: str(e.value), reason: str(e.reason)))
            }
            result = .score(ScoreResult(
                modelId: str(s.model_id),
                ids: (0..<s.n_ids).map { str(s.ids[$0]) },
                probability: Array(UnsafeBufferPointer(start: s.probability, count: s.n_probability)),
                decision: (0..<s.n_decision).map { Decision(rawValue: Int32(bitPattern: s.decision[$0].rawValue)) ?? .unspecified },
                reasons: reasons, errors: errors))
        case CREDIT__RESPONSE__RESULT_MODEL_INFO:
            let m = r.pointee.model_info!.pointee
            var fields = [SchemaField]()
            for i in 0..<m.n_fields {
                let f = m.fields[i]!.pointee
                fields.append(SchemaField(name: str(f.name), kind: f.kind == CREDIT__FIELD_KIND__CATEGORICAL ? .categorical : .numeric,
                                          categories: (0..<f.n_categories).map { str(f.categories[$0]) }))
            }
            let metrics = (0..<m.n_metrics).map { (name: str(m.metrics[$0]!.pointee.name), value: m.metrics[$0]!.pointee.value) }
            result = .modelInfo(ModelDescription(modelId: str(m.model_id), algorithm: str(m.algorithm), threshold: m.threshold,
                                                 thresholdMode: str(m.threshold_mode), fields: fields, metrics: metrics,
                                                 idField: str(m.id_field), query: str(m.query),
                                                 signerKeyId: str(m.signer_key_id)))
        case CREDIT__RESPONSE__RESULT_HEALTH:
            let h = r.pointee.health!.pointee
            result = .health(Health(live: h.live != 0, ready: h.ready != 0, modelId: str(h.model_id)))
        case CREDIT__RESPONSE__RESULT_STATS:
            let s = r.pointee.stats!.pointee
            var snap = StatsSnapshot()
            snap.requests = s.requests
            snap.rowsScored = s.rows_scored
            snap.rowErrors = s.row_errors
            snap.connectionsAccepted = s.connections_accepted
            snap.connectionsOpen = s.connections_open
            for i in 0..<s.n_by_code {
                let c = s.by_code[i]!.pointee
                if let code = StatusCode(rawValue: Int32(bitPattern: c.code.rawValue)) { snap.byCode[code] = c.count }
            }
            if let l = s.latency?.pointee {
                snap.latency.count = l.count
                snap.latency.meanMicros = l.mean_micros
                snap.latency.p50Micros = l.p50_micros
                snap.latency.p90Micros = l.p90_micros
                snap.latency.p99Micros = l.p99_micros
                snap.latency.maxMicros = l.max_micros
            }
            result = .stats(snap)
        case CREDIT__RESPONSE__RESULT_RELOAD:
            let l = r.pointee.reload!.pointee
            result = .reload(modelId: str(l.model_id), previousModelId: str(l.previous_model_id))
        default:
            result = nil
        }
        self.init(id: r.pointee.request_id, status: status, result: result)
    }

    public init(decoding bytes: [UInt8]) throws(MalformedMessage) {
        let r: Swift.Result<Response, MalformedMessage> = bytes.withUnsafeBytes { b in
            do throws(MalformedMessage) { return .success(try Response(decoding: b)) } catch { return .failure(error) }
        }
        self = try r.get()
    }
}
