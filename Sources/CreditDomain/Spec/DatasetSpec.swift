import Foundation

/// The dataset spec: one small JSON file that says what the loan book is and how to clean it.
///
/// It travels inside the model artifact, so serving applies exactly the cleaning that
/// training applied. JSON keys are snake_case (see `examples/alura-cash/spec.json` and
/// `docs/spec.md`).
public struct DatasetSpec: Codable, Sendable, Equatable {
    /// A name for reports and model info.
    public var name: String
    /// The default query for SQL sources, inline.
    public var query: String?
    /// The default query for SQL sources, as a path relative to the spec file (`query_file`).
    /// Resolved into `query` by `DatasetSpec.load(from:)`.
    public var queryFile: String?
    /// The column that identifies a row (a loan); carried through to scores, never a feature.
    public var id: String
    public var target: TargetSpec
    /// Features in model input order. A column of the table that is neither id, target
    /// nor listed here is ignored.
    public var features: [FeatureSpec]
    public var dropRows: DropRules

    public init(name: String, query: String? = nil, queryFile: String? = nil, id: String,
                target: TargetSpec, features: [FeatureSpec], dropRows: DropRules = DropRules()) {
        self.name = name
        self.query = query
        self.queryFile = queryFile
        self.id = id
        self.target = target
        self.features = features
        self.dropRows = dropRows
    }

    enum CodingKeys: String, CodingKey {
        case name, query, queryFile = "query_file", id, target, features, dropRows = "drop_rows"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        query = try c.decodeIfPresent(String.self, forKey: .query)
        queryFile = try c.decodeIfPresent(String.self, forKey: .queryFile)
        id = try c.decode(String.self, forKey: .id)
        target = try c.decode(TargetSpec.self, forKey: .target)
        features = try c.decode([FeatureSpec].self, forKey: .features)
        dropRows = try c.decodeIfPresent(DropRules.self, forKey: .dropRows) ?? DropRules()
    }

    public func feature(named name: String) -> FeatureSpec? {
        features.first { $0.name == name }
    }
}

/// Which column holds the outcome, and which of its values is the default (bad) outcome.
public struct TargetSpec: Codable, Sendable, Equatable {
    public var column: String
    /// The value (as text, e.g. "1") that marks a default: the positive class.
    public var positive: String

    public init(column: String, positive: String) {
        self.column = column
        self.positive = positive
    }
}

/// One feature: its role and its cleaning rules.
public struct FeatureSpec: Codable, Sendable, Equatable {
    public var name: String
    /// numeric or categorical; inferred from the data when left out.
    public var kind: FeatureKind?
    /// A human label used in reports and reason codes ("loan amount").
    public var label: String?
    /// Valid range of a numeric feature; values outside become missing or are clipped.
    public var range: RangeRule?
    /// The canonical vocabulary of a categorical feature. Values are mapped to the nearest
    /// entry (case, spacing, edit distance up to `maxEditDistance`); others become "unknown".
    public var vocabulary: [String]?
    public var maxEditDistance: Int?
    /// Adverse-action wording when this feature raises the risk, e.g.
    /// "loan amount is high relative to income". Defaults are generated from the label.
    public var reasonHigh: String?
    public var reasonLow: String?
    public var reasonMissing: String?
    /// The risk of default rises (`increasing`) or falls (`decreasing`) with the feature: a
    /// numeric one, or an ordinal category along `order`. Learners enforce it (docs/models.md).
    public var monotone: Monotone?
    /// An ordinal category's order, lowest first (e.g. loan grade A…G): the vocabulary, reordered.
    public var order: [String]?
    /// Which side of a numeric or ordinal feature is adverse (raises the risk): a refusal's
    /// reason names the feature only when the applicant's value is on that side of the
    /// training median. Defaults to the `monotone` direction (increasing → high).
    public var adverseSide: AdverseSide?
    /// The categories of a categorical feature that may be given as a refusal's reason
    /// ("loan purpose is Medical"); the others never are. Nil: every category.
    public var adverseCategories: [String]?

    public init(name: String, kind: FeatureKind? = nil, label: String? = nil, range: RangeRule? = nil,
                vocabulary: [String]? = nil, maxEditDistance: Int? = nil,
                reasonHigh: String? = nil, reasonLow: String? = nil, reasonMissing: String? = nil,
                monotone: Monotone? = nil, order: [String]? = nil, adverseSide: AdverseSide? = nil,
                adverseCategories: [String]? = nil) {
        self.name = name
        self.kind = kind
        self.label = label
        self.range = range
        self.vocabulary = vocabulary
        self.maxEditDistance = maxEditDistance
        self.reasonHigh = reasonHigh
        self.reasonLow = reasonLow
        self.reasonMissing = reasonMissing
        self.monotone = monotone
        self.order = order
        self.adverseSide = adverseSide
        self.adverseCategories = adverseCategories
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, label, range, vocabulary
        case maxEditDistance = "max_edit_distance"
        case reasonHigh = "reason_high", reasonLow = "reason_low", reasonMissing = "reason_missing"
        case monotone, order, adverseSide = "adverse_side", adverseCategories = "adverse_categories"
    }

    /// The adverse side in effect: `adverse_side`, else the `monotone` direction.
    public var effectiveAdverseSide: AdverseSide? {
        adverseSide ?? monotone.map { $0 == .increasing ? .high : .low }
    }
}

/// A declared monotone relation between a feature and the risk of default.
public enum Monotone: String, Codable, Sendable, Equatable {
    case increasing, decreasing

    /// +1 increasing, -1 decreasing (the sign learners constrain).
    public var sign: Int8 { self == .increasing ? 1 : -1 }
}

/// The side of a feature's values that raises the risk.
public enum AdverseSide: String, Codable, Sendable, Equatable {
    case high, low
}

/// A valid range for a numeric column and what to do with a value outside it.
public struct RangeRule: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable {
        /// The value becomes missing (imputed later, on training statistics).
        case missing
        /// The value is clipped to the nearest bound.
        case clip
        /// The whole row is dropped (training data only; at scoring time it is an error row).
        case drop
    }

    public var min: Double?
    public var max: Double?
    public var action: Action

    public init(min: Double? = nil, max: Double? = nil, action: Action = .missing) {
        self.min = min
        self.max = max
        self.action = action
    }

    enum CodingKeys: String, CodingKey { case min, max, action }

    /// `action` may be left out of the JSON: it defaults to `missing`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        min = try c.decodeIfPresent(Double.self, forKey: .min)
        max = try c.decodeIfPresent(Double.self, forKey: .max)
        action = try c.decodeIfPresent(Action.self, forKey: .action) ?? .missing
    }
}

/// Which rows to drop before anything else.
public struct DropRules: Codable, Sendable, Equatable {
    /// Drop rows whose target is missing (unlabelled loans). Default true.
    public var missingTarget: Bool
    /// Drop rows whose id is missing. Default true.
    public var missingId: Bool

    public init(missingTarget: Bool = true, missingId: Bool = true) {
        self.missingTarget = missingTarget
        self.missingId = missingId
    }

    enum CodingKeys: String, CodingKey {
        case missingTarget = "missing_target", missingId = "missing_id"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        missingTarget = try c.decodeIfPresent(Bool.self, forKey: .missingTarget) ?? true
        missingId = try c.decodeIfPresent(Bool.self, forKey: .missingId) ?? true
    }
}
