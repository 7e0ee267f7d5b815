/// Per-applicant results of scoring one batch, as flat parallel arrays that a scorer fills
/// and the encoder reads. Reused across requests: `reset(count:)` keeps the capacity, so a
/// warm scoring context allocates nothing per applicant.
public struct ScoreResults: Sendable {
    /// At most this many reason codes per applicant.
    public static let maxReasons = 4

    public private(set) var count = 0
    /// Probability of default; NaN for an applicant with a row error.
    public var probability: [Double] = []
    public var decision: [Decision] = []
    /// Number of reasons (0...maxReasons) of each applicant.
    public var reasonCount: [UInt8] = []
    /// Reason slots, `maxReasons` per applicant (applicant i uses i*maxReasons ..< i*maxReasons+reasonCount[i];
    /// the others hold whatever an earlier batch left there, and may outnumber `count`):
    /// the raw input field (index into the model's `ModelDescription.fields`), the wording,
    /// and the contribution to the log-odds of default.
    public var reasonField: [Int32] = []
    public var reasonText: [String] = []
    public var reasonContribution: [Double] = []
    /// Applicants not scored, in increasing `row` order.
    public var errors: [RowError] = []

    public init() {}

    /// Sizes every array for `count` applicants, all unscored (NaN, unspecified, no reasons).
    public mutating func reset(count n: Int) {
        count = n
        Self.refill(&probability, .nan, n)
        Self.refill(&decision, .unspecified, n)
        Self.refill(&reasonCount, 0, n)
        // Reason slots are read only below `reasonCount`, so they are sized, not cleared:
        // clearing four Strings per applicant was ~5 % of a 1024-applicant request's CPU.
        Self.grow(&reasonField, -1, n * Self.maxReasons)
        Self.grow(&reasonText, "", n * Self.maxReasons)
        Self.grow(&reasonContribution, 0, n * Self.maxReasons)
        errors.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private static func grow<T>(_ a: inout [T], _ value: T, _ n: Int) {
        if a.count < n { a.append(contentsOf: repeatElement(value, count: n - a.count)) }
    }

    @inline(__always)
    private static func refill<T>(_ a: inout [T], _ value: T, _ n: Int) {
        a.removeAll(keepingCapacity: true)
        a.append(contentsOf: repeatElement(value, count: n))
    }

    /// Records applicant `row`'s score.
    @inline(__always)
    public mutating func setScore(row: Int, probability p: Double, decision d: Decision) {
        probability[row] = p
        decision[row] = d
    }

    /// Appends a reason to applicant `row` (ignored past `maxReasons`).
    @inline(__always)
    public mutating func addReason(row: Int, field: Int32, text: String, contribution: Double) {
        let k = Int(reasonCount[row])
        guard k < Self.maxReasons else { return }
        let slot = row * Self.maxReasons + k
        reasonField[slot] = field
        reasonText[slot] = text
        reasonContribution[slot] = contribution
        reasonCount[row] = UInt8(k + 1)
    }

    /// Marks applicant `row` as not scored because of `field`'s `value`.
    public mutating func setError(row: Int, field: String, value: String, reason: String) {
        probability[row] = .nan
        decision[row] = .unspecified
        reasonCount[row] = 0
        errors.append(RowError(row: row, field: field, value: value, reason: reason))
    }

    /// Turns applicant `row` into a row error whatever the scorer decided (a value the face
    /// could not pass on intact): it replaces the scorer's own error for that row, which was
    /// about a damaged value. `errors` stays in row order.
    public mutating func overrideWithError(row: Int, field: String, value: String, reason: String) {
        if let i = errors.firstIndex(where: { $0.row == row }) {
            errors[i] = RowError(row: row, field: field, value: value, reason: reason)
            return
        }
        probability[row] = .nan
        decision[row] = .unspecified
        reasonCount[row] = 0
        let at = errors.firstIndex { $0.row > row } ?? errors.count
        errors.insert(RowError(row: row, field: field, value: value, reason: reason), at: at)
    }

    /// Number of applicants that got a probability.
    public var scoredCount: Int { count - errors.count }
}
