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
    let train: @Sendable (LabeledMatrix, LabeledMatrix?, UInt64, @escaping @Sendable (TrainingProgress) -> Void) throws -> any LogitModel & Codable
    let decode: @Sendable (Decoder) throws -> any LogitModel & Codable

    public init<L: Learner>(_ learner: L) {
        name = L.algorithm
        encoding = learner.encoding
        train = { try learner.fit(train: $0, validation: $1, seed: $2, progress: $3) }
        decode = { try L.Model(from: $0) }
    }

    /// Fits the learner (see `Learner.fit`).
    public func fit(train t: LabeledMatrix, validation: LabeledMatrix?, seed: UInt64,
                    progress: @escaping @Sendable (TrainingProgress) -> Void) throws -> TrainedModel {
        TrainedModel(algorithm: name, model: try train(t, validation, seed, progress))
    }
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
        AlgorithmEntry(GBDTLearner()),
    ]

    public static var names: [String] { all.map(\.name) }

    public static func named(_ name: String) -> AlgorithmEntry? { all.first { $0.name == name } }
}
