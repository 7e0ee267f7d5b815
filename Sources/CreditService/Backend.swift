import CreditDomain

/// Per-thread scratch memory a backend hands out and gets back on every `score` call.
public protocol ScoringScratch: AnyObject {}

/// What the service needs from a loaded model. The service knows nothing else about models:
/// the real one (CreditModels' `ScoringModel` read from a `.credit` artifact) is adapted to
/// this protocol by one small adapter (CreditModelServing), and the service tests use a
/// test-only backend.
///
/// Contract of `score`:
/// - `results` has been `reset(count: batch.count)`; for every applicant `i` the backend
///   calls either `results.setScore(row: i, probability:decision:)` (plus up to four
///   `addReason(row: i, field:text:contribution:)`, `field` indexing `info.fields`), or
///   `results.setError(row: i, field:value:reason:)` when that applicant's fields are
///   invalid. The rest of the batch is still scored. When `batch.reasons == .none` the
///   backend adds no reasons (and should skip computing them). Rows left unset make the
///   service answer INTERNAL.
/// - Decision: `.refuse` when probability >= `info.threshold`, else `.approve`.
/// - `batch` and its buffers are valid only during the call; `scratch` comes from this
///   backend's `makeScratch` and is used by one thread at a time.
/// - Called concurrently from several threads (each with its own scratch).
/// - Should not allocate per applicant (reuse `scratch`).
public protocol ScoringBackend: Sendable {
    var info: ModelDescription { get }
    /// Scratch for batches of up to `maxRows` applicants (the service makes a larger one when
    /// a larger batch comes).
    func makeScratch(maxRows: Int) -> any ScoringScratch
    func score(_ batch: borrowing ColumnarApplicants, into results: inout ScoreResults, scratch: any ScoringScratch)
    /// The backend's own code for each category of field `field` (`info.fields[field]`'s
    /// categories, same order), so the service translates a request's text once, straight
    /// to what the model uses. nil: the category's index.
    func categoryCodes(field: Int) -> [Int32]?
    /// The training distribution of the fields (drift reference for the portfolio), nil when
    /// the model carries none.
    var driftReference: [FeatureDistribution]? { get }
    /// The model report as JSON (`GET /v1/model/report`), nil when the model carries none.
    var reportJSON: [UInt8]? { get }
}

extension ScoringBackend {
    public func categoryCodes(field: Int) -> [Int32]? { nil }
    public var driftReference: [FeatureDistribution]? { nil }
    public var reportJSON: [UInt8]? { nil }
}

/// Loads and verifies the artifact at a path (`--model`, `Reload`, SIGHUP). Throws with a
/// message that says why the artifact is unusable.
public typealias ModelLoader = @Sendable (_ path: String) throws -> any ScoringBackend

/// A batch of applicants in columns, in the order of the model's `info.fields`, bound by a
/// face through `BatchScorer` (numeric columns usually point into the request in place).
///
/// - numeric field `f`: `numeric(f)[i]`, NaN when missing (not sent, or sent as NaN);
/// - categorical field `f`: `categoryCodes(f)[i]` is the backend's code of the value
///   (`ScoringBackend.categoryCodes(field:)`, by default its index in
///   `info.fields[f].categories`), `ColumnarApplicants.missing` (-1) when missing (not sent or
///   ""), `ColumnarApplicants.unknown` (-2) when the value is not one of the categories
///   (`text(field:row:)` gives the raw value, for the cleaner's typo rules and the row error).
public struct ColumnarApplicants {
    public static let missing: Int32 = -1
    public static let unknown: Int32 = -2

    public let count: Int
    public let fields: [SchemaField]
    /// Whether the caller wants reason codes (`.none`: set scores and decisions only).
    public let reasons: ReasonDetail
    let buffers: ApplicantBuffers

    @inline(__always)
    public func numeric(_ field: Int) -> UnsafeBufferPointer<Double> {
        precondition(fields[field].kind == .numeric, "field \(fields[field].name) is not numeric")
        return UnsafeBufferPointer(start: buffers.numericColumns[field], count: count)
    }

    @inline(__always)
    public func categoryCodes(_ field: Int) -> UnsafeBufferPointer<Int32> {
        precondition(fields[field].kind == .categorical, "field \(fields[field].name) is not categorical")
        return UnsafeBufferPointer(start: buffers.codeColumns[field], count: count)
    }

    /// The value of `field` for applicant `row` as text (for error messages; allocates).
    /// For a categorical field this is the raw text only where the code is `unknown`.
    public func text(field: Int, row: Int) -> String {
        switch fields[field].kind {
        case .numeric:
            let x = numeric(field)[row]
            return x.isNaN ? "" : "\(x)"
        case .categorical:
            return buffers.unknownText(field: field, row: row) ?? ""
        }
    }
}
