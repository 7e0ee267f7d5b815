import CreditDomain

/// Swift value types for the messages of proto/credit.proto. Clients and tests build and
/// read these; the daemon's hot path reads requests in place (`UnpackedRequest`) and
/// encodes Score responses straight from `ScoreResults` (`ResponseEncoder`).

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

/// A decoded Score result (client side), one entry per applicant.
public struct ScoreResult: Sendable {
    public var modelId: String
    public var ids: [String]
    public var probability: [Double]
    public var decision: [Decision]
    public var reasons: [[Reason]]
    public var errors: [RowError]
}

