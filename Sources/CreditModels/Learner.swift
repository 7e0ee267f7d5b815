/// Which input encoding a learner wants from the `Preprocessor`.
public enum InputEncoding: String, Codable, Sendable {
    /// Imputed, standardized, one-hot (logistic regression, MLP).
    case dense
    /// Raw numbers with NaN for missing, categories as codes (gradient-boosted trees).
    case native
}

/// One step of training, for progress display on a terminal and for logs.
public struct TrainingProgress: Sendable {
    public var iteration: Int
    public var trainLoss: Double?
    public var validationLoss: Double?
    public var message: String?

    public init(iteration: Int, trainLoss: Double? = nil, validationLoss: Double? = nil, message: String? = nil) {
        self.iteration = iteration
        self.trainLoss = trainLoss
        self.validationLoss = validationLoss
        self.message = message
    }
}

/// A training algorithm. Deterministic: same data + same seed = same model, also when it
/// uses several threads.
public protocol Learner: Sendable {
    associatedtype Model: LogitModel & Codable
    /// Short name used on the command line and in the artifact ("logistic", "mlp", "gbdt").
    static var algorithm: String { get }
    var encoding: InputEncoding { get }
    /// Fits on `train`; `validation` (never the test rows) serves early stopping.
    func fit(train: LabeledMatrix, validation: LabeledMatrix?, seed: UInt64,
             progress: @escaping @Sendable (TrainingProgress) -> Void) throws -> Model
    /// Fits like `fit` and also says how many rounds (trees, epochs) the kept model has, for a
    /// refit on more rows (cross-validation); nil for a learner without rounds.
    func fitReportingRounds(train: LabeledMatrix, validation: LabeledMatrix?, seed: UInt64,
                            progress: @escaping @Sendable (TrainingProgress) -> Void) throws -> (Model, Int?)
    /// This learner set to train exactly `rounds` rounds without a validation set.
    func fixingRounds(_ rounds: Int) -> Self
    /// This learner for a training book of `rows` rows: settings that depend on the book's
    /// size are decided once from it, so the cross-validation's fold models (fewer rows) and
    /// the refit on all rows are the same learner.
    func forBook(rows: Int) -> Self
    /// Whether it keeps `LabeledMatrix.monotone` (the spec's monotone constraints).
    var enforcesMonotone: Bool { get }
    /// Rank for the one-standard-error rule of `auto`: the simpler model has the lower number.
    static var complexity: Int { get }
}

extension Learner {
    public func fitReportingRounds(train: LabeledMatrix, validation: LabeledMatrix?, seed: UInt64,
                                   progress: @escaping @Sendable (TrainingProgress) -> Void) throws -> (Model, Int?) {
        (try fit(train: train, validation: validation, seed: seed, progress: progress), nil)
    }
    public func fixingRounds(_ rounds: Int) -> Self { self }
    public func forBook(rows: Int) -> Self { self }
    public var enforcesMonotone: Bool { false }
    public static var complexity: Int { 100 }
}

