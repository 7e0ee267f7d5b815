/// The vocabulary of scoring, shared by the service, its faces and the clients: plain
/// values with no protocol in them.

/// Whether a Score answer carries reason codes (`ReasonDetail` in credit.proto).
public enum ReasonDetail: Int32, Sendable, Equatable, CaseIterable {
    /// Up to four reason codes per scored applicant (the default).
    case full = 0
    /// Probabilities and decisions only (portfolio re-scoring; cheaper and smaller).
    case none = 1
}

public enum Decision: Int32, Sendable {
    case unspecified = 0, approve = 1, refuse = 2
}

/// One adverse-action reason: a raw input field that raised this applicant's risk, its
/// wording for the notice, and its contribution to the log-odds of default.
public struct Reason: Codable, Sendable, Equatable {
    public var feature: String
    public var text: String
    public var contribution: Double
    public init(feature: String, text: String, contribution: Double) {
        self.feature = feature
        self.text = text
        self.contribution = contribution
    }
}

/// A field that made an applicant unscorable: which row (0-based, in the order the rows
/// came: input table row, or applicant within a request), the field, its value as sent and
/// why. Every face reports it; nothing is scored silently from a bad value.
public struct RowError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public var row: Int
    public var field: String
    public var value: String
    public var reason: String

    public init(row: Int, field: String, value: String, reason: String) {
        self.row = row
        self.field = field
        self.value = value
        self.reason = reason
    }

    public var description: String { "row \(row + 1), field \(field), value '\(value)': \(reason)" }
}

/// One raw input field of a model's schema.
public struct SchemaField: Sendable, Equatable, Codable {
    public var name: String
    public var kind: FeatureKind
    /// Valid values of a categorical field (empty for numeric fields).
    public var categories: [String]
    public init(name: String, kind: FeatureKind, categories: [String] = []) {
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
    /// The id column of the training data (the batch scorer reads it from the input).
    public var idField: String
    /// The training spec's default query ("" when none): with it, `credit score --connect`
    /// reads an SQL source the way training did, without the spec file.
    public var query: String
    /// The key id that signed the artifact ("" when unsigned).
    public var signerKeyId: String

    public init(modelId: String, algorithm: String, threshold: Double, thresholdMode: String,
                fields: [SchemaField], metrics: [(name: String, value: Double)],
                idField: String = "", query: String = "", signerKeyId: String = "") {
        self.modelId = modelId
        self.algorithm = algorithm
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.fields = fields
        self.metrics = metrics
        self.idField = idField
        self.query = query
        self.signerKeyId = signerKeyId
    }

    public static func == (a: ModelDescription, b: ModelDescription) -> Bool {
        a.modelId == b.modelId && a.algorithm == b.algorithm && a.threshold == b.threshold
            && a.thresholdMode == b.thresholdMode && a.fields == b.fields
            && a.idField == b.idField && a.query == b.query && a.signerKeyId == b.signerKeyId
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

/// Latency percentiles in microseconds (the daemon's Stats answer; the benchmark's runs).
public struct LatencySummary: Sendable, Equatable, Codable {
    public var count: UInt64 = 0
    public var meanMicros = 0.0
    public var p50Micros = 0.0
    public var p90Micros = 0.0
    public var p99Micros = 0.0
    public var p999Micros = 0.0
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
