import CreditDomain
import Synchronization

/// A verified model plus the lookup tables every face needs (field names, categories).
/// Immutable; requests hold a reference for their whole life, so a reload never changes the
/// model under a request in flight.
public final class LoadedModel: Sendable {
    public let backend: any ScoringBackend
    public let info: ModelDescription
    public let path: String
    /// Increases with every successful load (per-thread caches key on it); 0 = a probe
    /// model that is never cached.
    public let generation: UInt64
    public let fieldNames: NameTable
    /// Categories per field (an empty table for numeric fields).
    public let categories: [NameTable]
    /// The backend's code for each category (`categories[f]` order).
    let codes: [[Int32]]
    /// Where applicants fall among the model's training bins (portfolio drift).
    let drift: DriftPlan

    init(backend: any ScoringBackend, path: String, generation: UInt64) {
        self.backend = backend
        self.info = backend.info
        self.path = path
        self.generation = generation
        fieldNames = NameTable(info.fields.map(\.name))
        categories = info.fields.map { NameTable($0.kind == .categorical ? $0.categories : []) }
        let info = backend.info
        codes = info.fields.indices.map { f in
            let n = info.fields[f].kind == .categorical ? info.fields[f].categories.count : 0
            guard let c = backend.categoryCodes(field: f), c.count == n else { return (0..<n).map { Int32($0) } }
            return c
        }
        drift = DriftPlan(model: info, codes: codes, reference: backend.driftReference)
    }
}

/// Why a model could not be loaded.
public struct ModelLoadError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "cannot load model '\(path)': \(reason)" }
}

/// The current model, swapped atomically: every face reads it, so a reload swaps them all.
public final class ModelSlot: Sendable {
    private let current = Mutex<LoadedModel?>(nil)
    private let generations = Atomic<UInt64>(0)
    /// Serialises loads so two reloads never interleave.
    private let loadLock = Mutex<Void>(())

    public init() {}

    public func get() -> LoadedModel? { current.withLock { $0 } }

    /// Loads, verifies and swaps in the artifact at `path`; on any failure the old model
    /// stays. Returns (new, previous).
    func load(path: String, loader: ModelLoader) throws(ModelLoadError) -> (LoadedModel, LoadedModel?) {
        let r: Result<(LoadedModel, LoadedModel?), ModelLoadError> = loadLock.withLock { _ in
            let backend: any ScoringBackend
            do { backend = try loader(path) } catch {
                return .failure(ModelLoadError(path: path, reason: "\(error)"))
            }
            if let problem = Self.verify(backend) { return .failure(ModelLoadError(path: path, reason: problem)) }
            let gen = generations.wrappingAdd(1, ordering: .relaxed).newValue
            let model = LoadedModel(backend: backend, path: path, generation: gen)
            let previous = current.withLock { slot -> LoadedModel? in
                let old = slot
                slot = model
                return old
            }
            return .success((model, previous))
        }
        return try r.get()
    }

    /// Checks the description and scores one all-missing applicant: the backend must answer
    /// with a probability in [0, 1] or a row error. nil when fine, else the problem.
    static func verify(_ backend: any ScoringBackend) -> String? {
        let info = backend.info
        if info.modelId.isEmpty { return "model id is empty" }
        if info.fields.isEmpty { return "model has no input fields" }
        if !(info.threshold >= 0 && info.threshold <= 1) { return "threshold \(info.threshold) is not in [0, 1]" }
        var seen = Set<String>()
        for f in info.fields {
            if !seen.insert(f.name).inserted { return "field '\(f.name)' appears twice in the schema" }
            if f.kind == .categorical && f.categories.isEmpty { return "categorical field '\(f.name)' lists no categories" }
        }
        for (i, f) in info.fields.enumerated() where f.kind == .categorical {
            if let c = backend.categoryCodes(field: i), c.count != f.categories.count || c.contains(where: { $0 < 0 }) {
                return "field '\(f.name)': \(c.count) category codes for \(f.categories.count) categories, or a negative code"
            }
        }
        let scorer = BatchScorer(maxApplicants: 1)
        let model = LoadedModel(backend: backend, path: "", generation: 0)
        if let problem = scorer.scoreAllMissing(model: model) { return problem }
        let results = scorer.results
        if results.errors.isEmpty {
            let p = results.probability[0]
            if !(p >= 0 && p <= 1) { return "probe applicant scored \(p), not a probability" }
        }
        return nil
    }
}
