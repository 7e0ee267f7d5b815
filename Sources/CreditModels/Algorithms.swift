/// A model as it travels in the artifact: the algorithm name and the learner's own
/// Codable model, encoded as `{"algorithm": "...", "parameters": {...}}`.
public struct TrainedModel: Codable, Sendable {
    public var algorithm: String
    /// The fitted model (a `LogitModel`; `Sendable` by the protocol's requirement).
    public var model: any LogitModel & Codable

    public init(algorithm: String, model: any LogitModel & Codable) {
        self.algorithm = algorithm
        self.model = model
    }

    enum CodingKeys: String, CodingKey { case algorithm, parameters }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        algorithm = try c.decode(String.self, forKey: .algorithm)
        guard let entry = Algorithms.named(algorithm) else {
            throw ArtifactError(description: "the model's algorithm '\(algorithm)' is not available in this build (available: \(Algorithms.names.joined(separator: ", ")))")
        }
        model = try entry.decode(try c.superDecoder(forKey: .parameters))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(algorithm, forKey: .algorithm)
        try model.encode(to: c.superEncoder(forKey: .parameters))
    }
}

/// A learner, type-erased for the command line, `auto` and artifact decoding.
public struct AlgorithmEntry: Sendable {
    public let name: String
    public let encoding: InputEncoding
    /// Whether it keeps the spec's monotone constraints (`auto` leaves the others out).
    public let enforcesMonotone: Bool
    /// The one-standard-error rule prefers the lower number (the simpler model).
    public let complexity: Int
    let train: @Sendable (LabeledMatrix, LabeledMatrix?, UInt64, @escaping @Sendable (TrainingProgress) -> Void) throws -> (any LogitModel & Codable, Int?)
    let fixing: @Sendable (Int) -> AlgorithmEntry
    let sizing: @Sendable (Int) -> AlgorithmEntry
    let decode: @Sendable (Decoder) throws -> any LogitModel & Codable

    public init<L: Learner>(_ learner: L) {
        name = L.algorithm
        encoding = learner.encoding
        enforcesMonotone = learner.enforcesMonotone
        complexity = L.complexity
        train = { try learner.fitReportingRounds(train: $0, validation: $1, seed: $2, progress: $3) }
        fixing = { AlgorithmEntry(learner.fixingRounds($0)) }
        sizing = { AlgorithmEntry(learner.forBook(rows: $0)) }
        decode = { try L.Model(from: $0) }
    }

    /// Fits the learner (see `Learner.fit`).
    public func fit(train t: LabeledMatrix, validation: LabeledMatrix?, seed: UInt64,
                    progress: @escaping @Sendable (TrainingProgress) -> Void) throws -> TrainedModel {
        TrainedModel(algorithm: name, model: try train(t, validation, seed, progress).0)
    }

    /// Fits and says how many rounds (trees, epochs) the kept model has (nil: no rounds).
    public func fitReportingRounds(train t: LabeledMatrix, validation: LabeledMatrix?, seed: UInt64,
                                   progress: @escaping @Sendable (TrainingProgress) -> Void) throws -> (TrainedModel, Int?) {
        let (model, rounds) = try train(t, validation, seed, progress)
        return (TrainedModel(algorithm: name, model: model), rounds)
    }

    /// The same learner set to train exactly `rounds` rounds (the refit after cross-validation).
    public func fixingRounds(_ rounds: Int) -> AlgorithmEntry { fixing(rounds) }

    /// The same learner for a training book of `rows` rows (`Learner.forBook`).
    public func forBook(rows: Int) -> AlgorithmEntry { sizing(rows) }
}

/// The learners this build knows.
///
/// EXTENSION POINT — the only place to register a new algorithm: append one entry, e.g.
/// `AlgorithmEntry(GBDTLearner())`, `AlgorithmEntry(MLPLearner())`. `credit train
/// --algorithm NAME`, `--algorithm auto` (all of them) and artifact loading all read this list.
public enum Algorithms {
    public static let all: [AlgorithmEntry] = [
        AlgorithmEntry(LogisticLearner()),
        AlgorithmEntry(MLPLearner()),
        gbdt(),
    ]

    /// The registered gbdt learner growing trees of `treeShape` (`credit train --tree-shape`;
    /// nil: loss-guided, oblivious with the cosine score on a small book) under monotone
    /// constraints by `monotoneMethod` (`--monotone-method`; a method of loss-guided trees, so
    /// giving one keeps a small book's trees loss-guided too).
    public static func gbdt(treeShape: GBDTTreeShape? = nil, monotoneMethod: GBDTMonotoneMethod? = nil) -> AlgorithmEntry {
        var p = GBDTParameters()
        p.treeShape = treeShape ?? (monotoneMethod != nil ? .lossGuided : nil)
        if monotoneMethod == .intermediate { p.monotoneMethod = .intermediate }
        return AlgorithmEntry(GBDTLearner(parameters: p, smallBookRows: 5_000, tinyBookRows: 1_000))
    }

    public static var names: [String] { all.map(\.name) }

    public static func named(_ name: String) -> AlgorithmEntry? { all.first { $0.name == name } }
}
