import CreditCore
import CreditDomain
import Logging
import Metrics

/// What the service is configured with; the faces add their own settings (listeners,
/// connection limits) around it.
public struct ServiceConfig: Sendable {
    /// The artifact loaded at start; nil starts the service not ready (load with Reload).
    public var modelPath: String?
    /// Most applicants in one Score request (INVALID_ARGUMENT beyond).
    public var maxApplicants = 10_000
    /// Where metrics go (default: whatever `MetricsSystem` was bootstrapped with).
    public var metricsFactory: (any MetricsFactory)?

    public init(modelPath: String? = nil, maxApplicants: Int = 10_000) {
        self.modelPath = modelPath
        self.maxApplicants = maxApplicants
    }
}

/// The scoring service that every face serves: the model slot and its loader, reload,
/// deadlines, the semantics of each method, and the stats. A face (the protobuf daemon in
/// CreditServer; an HTTP face beside it) decodes its requests, calls these, scores through
/// a per-thread `BatchScorer`, encodes the answer and records it with its `FaceMetrics`.
/// Nothing here names a wire format.
public final class ScoringService: Sendable {
    public let config: ServiceConfig
    public let logger: Logger
    public let slot = ModelSlot()
    let loader: ModelLoader
    let stats = StatsRecorder()
    let factory: any MetricsFactory
    /// What every face has scored since the current model was loaded.
    public let portfolio: Portfolio
    private let reloads: (ok: Counter, failed: Counter)

    public init(config: ServiceConfig, loader: @escaping ModelLoader, logger: Logger) {
        self.config = config
        self.loader = loader
        self.logger = logger
        factory = config.metricsFactory ?? MetricsSystem.factory
        portfolio = Portfolio(factory: factory)
        reloads = (Counter(label: "credit_model_loads_total", dimensions: [("outcome", "ok")], factory: factory),
                   Counter(label: "credit_model_loads_total", dimensions: [("outcome", "failed")], factory: factory))
    }

    /// The metrics of one face (make it once, at start).
    public func metrics(face: String) -> FaceMetrics {
        FaceMetrics(face: face, stats: stats, factory: factory)
    }

    /// A scorer for one thread of a face.
    public func makeScorer() -> BatchScorer { BatchScorer(maxApplicants: config.maxApplicants, portfolio: portfolio) }

    public var currentModel: LoadedModel? { slot.get() }

    /// Loads the artifact at `path` and swaps it in for every face; on failure the old
    /// model keeps serving and the error says why. `trigger` goes to the log.
    @discardableResult
    public func load(path: String, trigger: String) throws(ModelLoadError) -> (LoadedModel, LoadedModel?) {
        do {
            let (new, old) = try slot.load(path: path, loader: loader)
            reloads.ok.increment()
            setModelInfo(new.info, 1)
            if let old, old.info.modelId != new.info.modelId { setModelInfo(old.info, 0) }
            logger.notice("model loaded", metadata: ["model": "\(new.info.modelId)", "path": "\(path)",
                                                   "signer": "\(new.info.signerKeyId.isEmpty ? "unsigned" : new.info.signerKeyId)",
                                                   "previous": "\(old?.info.modelId ?? "none")", "trigger": "\(trigger)"])
            return (new, old)
        } catch {
            reloads.failed.increment()
            logger.error("model load failed; keeping the current model", metadata: [
                "path": "\(path)", "error": "\(error.reason)", "current": "\(slot.get()?.info.modelId ?? "none")", "trigger": "\(trigger)"])
            throw error
        }
    }

    /// `credit_model_info{model_id, algorithm}` = 1 for the model serving, 0 once replaced.
    private func setModelInfo(_ info: ModelDescription, _ value: Int) {
        Gauge(label: "credit_model_info", dimensions: [("model_id", info.modelId), ("algorithm", info.algorithm)],
              factory: factory).record(value)
    }

    /// Reload with no path (SIGHUP): the current model's path, else the configured one.
    @discardableResult
    public func reload(trigger: String) throws(ModelLoadError) -> LoadedModel {
        guard let p = slot.get()?.path ?? config.modelPath else {
            let error = ModelLoadError(path: "", reason: "no model path: start with --model or send Reload with a path")
            logger.error("model load failed; keeping the current model", metadata: ["error": "\(error.reason)"])
            throw error
        }
        return try load(path: p, trigger: trigger).0
    }

    // MARK: - Method semantics (the same for every face)

    /// DEADLINE_EXCEEDED when a deadline (µs since the Unix epoch; 0 = none) has passed.
    @inline(__always)
    public func checkDeadline(_ deadlineUnixMicros: UInt64) -> Status? {
        guard deadlineUnixMicros != 0 else { return nil }
        let now = SystemClock.unixMicros()
        guard now > deadlineUnixMicros else { return nil }
        return Status(.deadlineExceeded, "deadline passed \(now - deadlineUnixMicros) us before the request was handled; not scored")
    }

    /// Live always; ready once a model is loaded.
    public func health() -> Health {
        let m = slot.get()
        return Health(live: true, ready: m != nil, modelId: m?.info.modelId ?? "")
    }

    /// The model serving now, or UNAVAILABLE.
    public func modelForScoring() -> Result<LoadedModel, Status> {
        guard let m = slot.get() else { return .failure(Status(.unavailable, "no model loaded")) }
        return .success(m)
    }

    public func modelInfo() -> Result<ModelDescription, Status> {
        modelForScoring().map(\.info)
    }

    public func statsSnapshot() -> StatsSnapshot { stats.snapshot() }

    /// The Reload method, once the face has decided the caller may reload (the protobuf face
    /// allows it on its Unix socket only). Answers (new model id, previous model id).
    public func reloadRequest(path: String?, face: String) -> Result<(String, String), Status> {
        guard let path, !path.isEmpty else { return .failure(Status(.invalidArgument, "Reload needs a path")) }
        do {
            let (new, old) = try load(path: path, trigger: "Reload request (\(face))")
            return .success((new.info.modelId, old?.info.modelId ?? ""))
        } catch {
            return .failure(Status(.internal, "\(error); still serving \(slot.get()?.info.modelId ?? "no model")"))
        }
    }
}
