/// Swift value types for the messages of proto/credit.proto. Clients and tests build and
/// read these; the daemon's hot path reads requests in place (`UnpackedRequest`) and
/// encodes Score responses straight from `ScoreResults` (`ResponseEncoder`).

/// Status codes, gRPC-like (see `Code` in credit.proto).
public enum StatusCode: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case ok = 0
    case invalidArgument = 3
    case deadlineExceeded = 4
    case permissionDenied = 7
    case resourceExhausted = 8
    case `internal` = 13
    case unavailable = 14

    public var description: String {
        switch self {
        case .ok: "OK"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        }
    }
}

public struct Status: Sendable, Equatable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public init(_ code: StatusCode, _ message: String = "") {
        self.code = code
        self.message = message
    }
    public static let ok = Status(.ok)
    public var description: String { message.isEmpty ? "\(code)" : "\(code): \(message)" }
}

// MARK: - Requests

public struct Request: Sendable, Equatable {
    public var requestId: UInt64
    /// Microseconds since the Unix epoch; 0 = no deadline.
    public var deadlineUnixMicros: UInt64
    public var method: Method
    /// Score requests only: whether the answer carries reason codes.
    public var reasons: ReasonDetail

    public init(id: UInt64, deadlineUnixMicros: UInt64 = 0, reasons: ReasonDetail = .full, _ method: Method) {
        self.requestId = id
        self.deadlineUnixMicros = deadlineUnixMicros
        self.reasons = reasons
        self.method = method
    }

    public enum Method: Sendable, Equatable {
        case score(ScoreInput)
        case modelInfo
        case health
        case stats
        case reload(path: String)
    }
}

/// Whether a Score answer carries reason codes (`ReasonDetail` in credit.proto).
public enum ReasonDetail: Int32, Sendable, Equatable, CaseIterable {
    /// Up to four reason codes per scored applicant (the default).
    case full = 0
    /// Probabilities and decisions only (portfolio re-scoring; cheaper and smaller).
    case none = 1
}

public enum ScoreInput: Sendable, Equatable {
    case columns(ColumnBatch)
    case row(ApplicantRow)
}

/// A columnar batch: numeric columns as `[Double]` (NaN = missing), categorical columns as
/// `[String]` ("" = missing), plus optional ids.
public struct ColumnBatch: Sendable, Equatable {
    public var ids: [String]
    public var numeric: [(field: String, values: [Double])]
    public var categorical: [(field: String, values: [String])]

    public init(ids: [String] = [], numeric: [(field: String, values: [Double])] = [],
                categorical: [(field: String, values: [String])] = []) {
        self.ids = ids
        self.numeric = numeric
        self.categorical = categorical
    }

    public static func == (a: ColumnBatch, b: ColumnBatch) -> Bool {
        a.ids == b.ids
            && a.numeric.count == b.numeric.count
            && zip(a.numeric, b.numeric).allSatisfy { $0.field == $1.field && $0.values.elementsEqual($1.values) { $0 == $1 || ($0.isNaN && $1.isNaN) } }
            && a.categorical.count == b.categorical.count
            && zip(a.categorical, b.categorical).allSatisfy { $0.field == $1.field && $0.values == $1.values }
    }
}

/// One applicant as field/value pairs.
public struct ApplicantRow: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case number(Double)
        case text(String)
    }
    public var id: String
    public var fields: [(field: String, value: Value)]

    public init(id: String = "", fields: [(field: String, value: Value)]) {
        self.id = id
        self.fields = fields
    }

    public static func == (a: ApplicantRow, b: ApplicantRow) -> Bool {
        a.id == b.id && a.fields.count == b.fields.count
            && zip(a.fields, b.fields).allSatisfy { $0.field == $1.field && $0.value == $1.value }
    }
}

// MARK: - Responses

public struct Response: Sendable {
    public var requestId: UInt64
    public var status: Status
    public var result: Result?

    public init(id: UInt64, status: Status, result: Result? = nil) {
        self.requestId = id
        self.status = status
        self.result = result
    }

    public enum Result: Sendable {
        case score(ScoreResult)
        case modelInfo(ModelDescription)
        case health(Health)
        case stats(StatsSnapshot)
        case reload(modelId: String, previousModelId: String)
    }

    public var score: ScoreResult? { if case .score(let s) = result { return s }; return nil }
    public var modelInfo: ModelDescription? { if case .modelInfo(let s) = result { return s }; return nil }
    public var health: Health? { if case .health(let s) = result { return s }; return nil }
    public var stats: StatsSnapshot? { if case .stats(let s) = result { return s }; return nil }
}

public enum Decision: Int32, Sendable {
    case unspecified = 0, approve = 1, refuse = 2
}

public struct Reason: Sendable, Equatable {
    public var feature: String
    public var text: String
    public var contribution: Double
    public init(feature: String, text: String, contribution: Double) {
        self.feature = feature
        self.text = text
        self.contribution = contribution
    }
}

/// A field that made an applicant unscorable.
public struct RowError: Error, Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var field: String
    public var value: String
    public var reason: String
    public init(index: Int, field: String, value: String, reason: String) {
        self.index = index
        self.field = field
        self.value = value
        self.reason = reason
    }
    public var description: String { "applicant \(index), field \(field), value '\(value)': \(reason)" }
}

/// A decoded Score result (client side), one entry per applicant.
public struct ScoreResult: Sendable {
    public var modelId: String
    public var ids: [String]
    public var probability: [Double]
    public var decision: [Decision]
    public var reasons: [[Reason]]
    public var errors: [RowError]
}

public enum FieldKind: Int32, Sendable, Codable {
    case numeric = 1
    case categorical = 2
}

/// One raw input field of a model's schema.
public struct SchemaField: Sendable, Equatable, Codable {
    public var name: String
    public var kind: FieldKind
    /// Valid values of a categorical field (empty for numeric fields).
    public var categories: [String]
    public init(name: String, kind: FieldKind, categories: [String] = []) {
        self.name = name
        self.kind = kind
        self.categories = categories
    }
}

/// What a loaded model says about itself (the ModelInfo answer).
public struct ModelDescription: Sendable, Equatable {
    public var modelId: String
    public var algorithm: String
    /// Applicants with probability of default >= threshold are refused.
    public var threshold: Double
    /// How the threshold was chosen (e.g. "max-f1", "cost", "fixed").
    public var thresholdMode: String
    public var fields: [SchemaField]
    public var metrics: [(name: String, value: Double)]

    public init(modelId: String, algorithm: String, threshold: Double, thresholdMode: String,
                fields: [SchemaField], metrics: [(name: String, value: Double)]) {
        self.modelId = modelId
        self.algorithm = algorithm
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.fields = fields
        self.metrics = metrics
    }

    public static func == (a: ModelDescription, b: ModelDescription) -> Bool {
        a.modelId == b.modelId && a.algorithm == b.algorithm && a.threshold == b.threshold
            && a.thresholdMode == b.thresholdMode && a.fields == b.fields
            && a.metrics.count == b.metrics.count
            && zip(a.metrics, b.metrics).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

public struct Health: Sendable, Equatable {
    public var live: Bool
    public var ready: Bool
    public var modelId: String
    public init(live: Bool, ready: Bool, modelId: String) {
        self.live = live
        self.ready = ready
        self.modelId = modelId
    }
}

public struct LatencySummary: Sendable, Equatable {
    public var count: UInt64 = 0
    public var meanMicros = 0.0
    public var p50Micros = 0.0
    public var p90Micros = 0.0
    public var p99Micros = 0.0
    public var maxMicros = 0.0
    public init() {}
}

public struct StatsSnapshot: Sendable, Equatable {
    public var requests: UInt64 = 0
    public var rowsScored: UInt64 = 0
    public var rowErrors: UInt64 = 0
    public var byCode: [StatusCode: UInt64] = [:]
    public var latency = LatencySummary()
    public var connectionsAccepted: UInt64 = 0
    public var connectionsOpen: UInt64 = 0
    public init() {}
}
