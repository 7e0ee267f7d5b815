import CreditDomain
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct ArtifactError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// One field of the raw input a model expects (what a scoring request must carry).
public struct RawField: Codable, Sendable, Equatable {
    /// "id" or "feature".
    public var role: String
    public var name: String
    public var kind: FeatureKind
    /// Categorical: the valid categories (the spec's vocabulary, else those seen in training).
    public var categories: [String]?
    /// The spec's own label (nil when it gives none; `Schema` settles the fallback).
    public var label: String?

    public init(role: String, name: String, kind: FeatureKind, categories: [String]?, label: String?) {
        self.role = role
        self.name = name
        self.kind = kind
        self.categories = categories
        self.label = label
    }

    /// The field of a compiled feature fitted as `stats`: its kind as fitted; for a category,
    /// the vocabulary when the spec has one, else the categories seen in training.
    public init(feature: SchemaFeature, stats: FeatureStats) {
        precondition(feature.name == stats.name && feature.kind == stats.kind, "RawField: \(feature.name) does not match its fitted stats")
        self.init(role: "feature", name: stats.name, kind: stats.kind,
                  categories: stats.kind == .categorical ? (feature.vocabulary ?? stats.categories) : nil,
                  label: feature.specLabel)
    }
}

/// Metrics stored in the artifact (test metrics never are: they go to the metrics file only).
public struct ArtifactMetrics: Codable, Sendable, Equatable {
    public var training: EvaluationMetrics
    public var validation: EvaluationMetrics
}

/// How the model was trained (reproducibility and audit).
public struct TrainingInfo: Codable, Sendable, Equatable {
    /// SHA-256 (hex) of the fit and validation rows: role, id, label and cleaned features.
    public var dataFingerprint: String
    public var fitRows: Int
    public var validationRows: Int
    public var testRows: Int
    public var positives: Int
    public var seed: UInt64
    public var balance: String
    public var validationFraction: Double
    public var testFraction: Double
    /// Cross-validation that chose the settings and the threshold (nil: a validation slice).
    public var crossValidation: CrossValidationInfo?

    enum CodingKeys: String, CodingKey {
        case dataFingerprint = "data_fingerprint", fitRows = "fit_rows", validationRows = "validation_rows"
        case testRows = "test_rows", positives, seed, balance
        case validationFraction = "validation_fraction", testFraction = "test_fraction"
        case crossValidation = "cross_validation"
    }
}

/// What cross-validation decided, for audit: folds, the chosen algorithm's fold scores and the
/// rounds (trees, epochs) the final refit on all training rows used.
public struct CrossValidationInfo: Codable, Sendable, Equatable {
    public var folds: Int
    public var rocAUCMean: Double
    public var rocAUCSD: Double
    /// Per fold ROC AUC of the chosen algorithm, fold order.
    public var foldROCAUC: [Double]
    /// Iterations of the final refit (trees, epochs); nil for a learner without any.
    public var rounds: Int?

    public init(folds: Int, rocAUCMean: Double, rocAUCSD: Double, foldROCAUC: [Double], rounds: Int?) {
        self.folds = folds
        self.rocAUCMean = rocAUCMean
        self.rocAUCSD = rocAUCSD
        self.foldROCAUC = foldROCAUC
        self.rounds = rounds
    }

    enum CodingKeys: String, CodingKey {
        case folds, rocAUCMean = "roc_auc_mean", rocAUCSD = "roc_auc_sd", foldROCAUC = "fold_roc_auc", rounds
    }
}

/// Everything needed to score: the body of a `.credit` file.
///
/// File layout (see docs/models.md):
/// ```
/// CREDIT <format version>\n
/// <model id: SHA-256 hex of the body>\n
/// <body: JSON, keys sorted, no whitespace>
/// ```
/// Floats are written in Swift's shortest round-trip form, so a reloaded model scores
/// bit-identically. No timestamps: two identical trainings produce the same file and id.
public struct ModelArtifact: Codable, Sendable {
    /// 2: snake_case threshold rules, how the threshold was chosen, cross-validation, the
    /// spec's monotone/ordinal/adverse keys (format 1 files still load).
    public static let currentFormatVersion = 2
    static let magic = "CREDIT"

    public var formatVersion: Int
    public var spec: DatasetSpec
    public var schema: [RawField]
    public var preprocessor: Preprocessor
    public var encoding: InputEncoding
    public var model: TrainedModel
    public var threshold: ThresholdChoice
    public var metrics: ArtifactMetrics
    public var training: TrainingInfo
    /// The model report on the validation rows and the training distributions (drift
    /// reference). Optional and additive: artifacts written before it have none and keep
    /// their bytes and id; a new artifact's id covers it.
    public var report: ModelReport?

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", spec, schema, preprocessor, encoding, model, threshold, metrics, training, report
    }

    /// The canonical body bytes (sorted-key JSON).
    public func body() throws -> Data { try CreditJSON.encoder().encode(self) }

    /// The model id: SHA-256 (hex) of the canonical body.
    public static func modelID(body: Data) -> String {
        SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
    }

    /// The complete file bytes and the model id.
    public func fileData() throws -> (data: Data, modelID: String) {
        let b = try body()
        let id = Self.modelID(body: b)
        var out = Data("\(Self.magic) \(formatVersion)\n\(id)\n".utf8)
        out.append(b)
        return (out, id)
    }

    /// Writes the `.credit` file atomically; returns the model id.
    @discardableResult
    public func write(to path: String) throws -> String {
        let (data, id) = try fileData()
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        return id
    }

    /// Parses and verifies a `.credit` file: magic, format version (a newer one is refused),
    /// integrity (the body must hash to the recorded model id), then the body.
    public static func decode(_ data: Data, source: String = "model file") throws -> (artifact: ModelArtifact, modelID: String) {
        let bytes = [UInt8](data)
        guard bytes.count > magic.utf8.count + 1, bytes.starts(with: Array("\(magic) ".utf8)) else {
            throw ArtifactError(description: "\(source) is not a credit model (it does not start with '\(magic) ')")
        }
        guard let nl1 = bytes.firstIndex(of: 10),
              let nl2 = bytes[(nl1 + 1)...].firstIndex(of: 10) else {
            throw ArtifactError(description: "\(source) is damaged: its header is incomplete")
        }
        let versionText = String(decoding: bytes[(magic.utf8.count + 1)..<nl1], as: UTF8.self)
        guard let version = Int(versionText), version >= 1 else {
            throw ArtifactError(description: "\(source) is damaged: unreadable format version '\(versionText)'")
        }
        if version > currentFormatVersion {
            throw ArtifactError(description: "\(source) has format version \(version), newer than this build reads (\(currentFormatVersion)); use a newer credit")
        }
        let recorded = String(decoding: bytes[(nl1 + 1)..<nl2], as: UTF8.self)
        let body = Data(bytes[(nl2 + 1)...])
        let actual = modelID(body: body)
        guard recorded == actual else {
            throw ArtifactError(description: "\(source) is damaged: its content does not match its model id (expected SHA-256 \(recorded), found \(actual))")
        }
        let artifact: ModelArtifact
        do {
            artifact = try CreditJSON.decoder().decode(ModelArtifact.self, from: body)
        } catch let e as ArtifactError {
            throw ArtifactError(description: "\(source): \(e.description)")
        } catch {
            throw ArtifactError(description: "\(source) is damaged or unsupported: \(error)")
        }
        guard artifact.formatVersion == version else {
            throw ArtifactError(description: "\(source) is damaged: header says format \(version), body says \(artifact.formatVersion)")
        }
        guard artifact.model.model.inputWidth == artifact.preprocessor.plan(artifact.encoding).width else {
            throw ArtifactError(description: "\(source) is damaged: model input width does not match its preprocessing")
        }
        return (artifact, actual)
    }

    /// Largest `.credit` file accepted (the anchor GBDT is ~1 MB): a reload of a huge or
    /// wrong file is refused before it is read.
    public static let maxFileBytes = 256 << 20

    public static func load(path: String) throws -> (artifact: ModelArtifact, modelID: String) {
        let r = try load(path: path, trusted: nil)
        return (r.artifact, r.modelID)
    }

    /// The file's bytes, once it is known to be a regular file within the size limit that
    /// starts like an artifact (plain `CREDIT `, or signed `CREDIT-`: ArtifactSignature.swift).
    static func readFile(path: String) throws -> Data {
        // What the path is and how big, then the header, before reading the body.
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw ArtifactError(description: "cannot read model file \(path): \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            let what = switch st.st_mode & S_IFMT {
            case S_IFDIR: "a directory"
            case S_IFIFO: "a FIFO"
            case S_IFCHR, S_IFBLK: "a device"
            case S_IFSOCK: "a socket"
            default: "not a regular file"
            }
            throw ArtifactError(description: "model file \(path) is \(what), not a regular file")
        }
        guard Int(st.st_size) <= maxFileBytes else {
            throw ArtifactError(description: "model file \(path) is \(st.st_size) bytes; the limit is \(maxFileBytes >> 20) MiB")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ArtifactError(description: "cannot read model file \(path): \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: magic.utf8.count + 1)) ?? Data()
        guard head.elementsEqual("\(magic) ".utf8) || head.elementsEqual("\(magic)-".utf8) else {
            throw ArtifactError(description: "model file \(path) is not a credit model (it does not start with '\(magic) ')")
        }
        let data: Data
        do { data = head + (try handle.readToEnd() ?? Data()) } catch {
            throw ArtifactError(description: "cannot read model file \(path): \(error.localizedDescription)")
        }
        return data
    }
}
