import Foundation

/// The dataset spec compiled once, every default settled. Cleaning (`Cleaner`), preprocessing
/// (`Preprocessor.fit`), the raw input schema a model records and scoring with its reason
/// wording all read this; none of them interprets the spec on its own.
///
/// The rules, stated here only:
/// - **kind**: the feature's `kind`; else categorical when it has a vocabulary; else numeric
///   when it has a range; else the kind the data shows (`init(spec:table:)`) or a trained model
///   recorded (`init(spec:kinds:)`).
/// - **label**: the feature's `label`, else its name with `_` → space
///   (`person_income` → "person income").
/// - **reasons**: `reason_high` / `reason_low` / `reason_missing`, else "<label> is too high" /
///   "<label> is too low" / "<label> is missing"; a category's reason is "<label> is <category>".
/// - **range**: inclusive bounds, either optional; outside → `action` (default `missing`).
/// - **vocabulary**: canonical entries, typo correction up to `max_edit_distance` (default 2).
/// - **id** is always text; **target** is positive when the cell equals `target.positive`
///   as text, or as a number when both parse.
public struct Schema: Sendable {
    /// The spec as written (what artifacts store, byte for byte).
    public let spec: DatasetSpec
    /// Features in model input (spec) order.
    public let features: [SchemaFeature]
    private let index: [String: Int]

    public var id: String { spec.id }
    public var target: TargetSpec { spec.target }
    public var dropRows: DropRules { spec.dropRows }

    /// Compiles a spec whose open kinds (no `kind`, vocabulary or range) are given by `kinds`
    /// (observed in the data, or recorded by a trained model). Validates the spec; a feature
    /// whose kind is still open is an error.
    public init(spec: DatasetSpec, kinds: [String: FeatureKind] = [:]) throws {
        try spec.validate()
        var problems: [String] = []
        var features: [SchemaFeature] = []
        for f in spec.features {
            guard let kind = Self.declaredKind(of: f) ?? kinds[f.name] else {
                problems.append("feature '\(f.name)' has no kind: give its \"kind\" in the spec, "
                    + "or compile the schema with the data (Schema(spec:table:))")
                continue
            }
            features.append(SchemaFeature(spec: f, kind: kind))
        }
        if !problems.isEmpty { throw SpecError(problems: problems) }
        self.spec = spec
        self.features = features
        self.index = Dictionary(uniqueKeysWithValues: features.enumerated().map { ($1.name, $0) })
    }

    /// Compiles a spec against a raw table: open kinds are the kinds of the table's columns
    /// (a feature with an open kind must be in the table).
    public init(spec: DatasetSpec, table: DataTable) throws {
        try spec.validate()
        var observed: [String: FeatureKind] = [:]
        for f in spec.features where Self.declaredKind(of: f) == nil {
            guard let column = table.column(named: f.name) else {
                throw CleaningError(message: "feature '\(f.name)' is not in the data (columns: "
                    + table.columnNames.joined(separator: ", ") + ")")
            }
            observed[f.name] = column.kind
        }
        try self.init(spec: spec, kinds: observed)
    }

    /// The kind the spec alone decides for a feature (nil: the data decides).
    public static func declaredKind(of feature: FeatureSpec) -> FeatureKind? {
        if let k = feature.kind { return k }
        if feature.vocabulary != nil { return .categorical }
        if feature.range != nil { return .numeric }
        return nil
    }

    /// The human label of a feature: its `label`, else its name with `_` → space.
    public static func label(of feature: FeatureSpec) -> String {
        feature.label ?? feature.name.replacingOccurrences(of: "_", with: " ")
    }

    public func feature(named name: String) -> SchemaFeature? { index[name].map { features[$0] } }

    /// The position of a feature in `features` (spec order).
    public func position(of name: String) -> Int? { index[name] }

    /// The label of any column for reports: a feature's label, else the column's name.
    public func label(of column: String) -> String { feature(named: column)?.label ?? column }

    /// The kinds a source must use to read this book: the id as text, every feature as compiled.
    public var forcedKinds: ColumnKinds {
        var forced: [String: FeatureKind] = [id: .categorical]
        for f in features { forced[f.name] = f.kind }
        return ColumnKinds(forced: forced)
    }

    /// Whether a raw target cell is the positive (default) class; nil when missing.
    public func isPositive(_ column: Column, row: Int) -> Bool? {
        let positive = spec.target.positive
        switch column.values {
        case .numeric(let v):
            guard let x = v[row] else { return nil }
            if let p = Double(positive) { return x == p }
            return formatNumber(x) == positive
        case .categorical(let v):
            guard let s = v[row] else { return nil }
            let t = s.trimmedWhitespace
            if t == positive { return true }
            if let a = Double(t), let p = Double(positive) { return a == p }
            return t.lowercased() == positive.lowercased()
        }
    }
}

/// One feature of a compiled `Schema`: its spec entry with every default settled.
public struct SchemaFeature: Sendable {
    public let name: String
    public let kind: FeatureKind
    /// The label for reports, row errors and reasons (`Schema.label(of:)`).
    public let label: String
    /// The spec's own `label` (nil when it gives none): recorded as is in a model's raw schema.
    public let specLabel: String?
    public let range: RangeRule?
    /// The range as a closed interval (an open side is ±greatestFiniteMagnitude): values
    /// inside need no cleaning.
    public let validRange: ClosedRange<Double>
    public let vocabulary: [String]?
    public let maxEditDistance: Int
    /// Typo correction into `vocabulary` (nil without one).
    public let canonicalizer: CategoryCanonicalizer?
    /// Adverse-action wording when the feature raises the risk by being high, low or missing.
    public let reasonHigh: String
    public let reasonLow: String
    public let reasonMissing: String
    /// The declared monotone direction (numeric, or ordinal along `order`).
    public let monotone: Monotone?
    /// An ordinal category's order, lowest first.
    public let order: [String]?
    /// The adverse side (`adverse_side`, else from `monotone`); nil: undeclared.
    public let adverseSide: AdverseSide?
    /// Categories that may be a refusal's reason; nil: every category.
    public let adverseCategories: Set<String>?

    init(spec f: FeatureSpec, kind: FeatureKind) {
        name = f.name
        self.kind = kind
        let label = Schema.label(of: f)
        self.label = label
        specLabel = f.label
        range = f.range
        validRange = (f.range?.min ?? -Double.greatestFiniteMagnitude)...(f.range?.max ?? Double.greatestFiniteMagnitude)
        vocabulary = f.vocabulary
        maxEditDistance = f.maxEditDistance ?? 2
        canonicalizer = f.vocabulary.map { CategoryCanonicalizer(vocabulary: $0, maxEditDistance: f.maxEditDistance ?? 2) }
        reasonHigh = f.reasonHigh ?? "\(label) is too high"
        reasonLow = f.reasonLow ?? "\(label) is too low"
        reasonMissing = f.reasonMissing ?? "\(label) is missing"
        monotone = f.monotone
        order = kind == .categorical ? f.order : nil
        adverseSide = f.effectiveAdverseSide
        adverseCategories = f.adverseCategories.map(Set.init)
    }

    /// The reason wording of a categorical value ("loan grade is D").
    public func categoryReason(_ category: String) -> String { "\(label) is \(category)" }

    /// The row-error reason of a value outside the range.
    public func outsideRangeReason(_ x: Double) -> String {
        let lo = range?.min.map(formatNumber) ?? "-∞"
        let hi = range?.max.map(formatNumber) ?? "∞"
        return "\(label) \(formatNumber(x)) is outside the valid range \(lo)…\(hi)"
    }

    /// The cleaning rule in words, for the cleaning report.
    public var ruleText: String {
        switch kind {
        case .numeric:
            guard let r = range else { return "none" }
            let lo = r.min.map(formatNumber) ?? "-∞"
            let hi = r.max.map(formatNumber) ?? "∞"
            let action = ["missing": "missing", "clip": "clipped", "drop": "row dropped"][r.action.rawValue]!
            return "range \(lo)…\(hi), outside → \(action)"
        case .categorical:
            guard let v = vocabulary else { return "none" }
            return "vocabulary \(v.joined(separator: ", ")); max edit distance \(maxEditDistance); "
                + "unmatched → \(Cleaner.unknownCategory)"
        }
    }
}
