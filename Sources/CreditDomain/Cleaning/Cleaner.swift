import Foundation

/// Why a table is being cleaned.
public enum CleaningPurpose: String, Codable, Sendable {
    /// Applies the drop rules (missing id, missing target, out-of-range with action `drop`).
    case training
    /// Never drops: a row that a rule would drop stays (offending value missing) and gets a
    /// `RowError` instead. A missing target is not an error at scoring time.
    case scoring
}

/// One row that a rule rejects at scoring time.
public struct RowError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 0-based row index in the input table.
    public var row: Int
    public var field: String
    public var value: String
    public var reason: String

    public init(row: Int, field: String, value: String, reason: String) {
        self.row = row
        self.field = field
        self.value = value
        self.reason = reason
    }

    public var description: String { "row \(row + 1), field \(field), value '\(value)': \(reason)" }
}

/// A table the cleaner cannot work on (a column is absent or of the wrong kind).
public struct CleaningError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The audit trail of one cleaning run.
///
/// Value counts (`set_missing`, `clipped`, `corrected`, `unknown`, `missing`) are over the
/// rows that come out; rows that a drop rule removed are counted once, under the first rule
/// that removed them, in `dropped`.
public struct CleaningReport: Codable, Sendable, Equatable {
    public var purpose: CleaningPurpose
    public var rowsIn: Int
    public var rowsOut: Int
    public var dropped: [DroppedRows]
    public var columns: [ColumnCleaning]
    /// Number of row errors (scoring purpose only).
    public var rowErrors: Int

    public init(purpose: CleaningPurpose, rowsIn: Int, rowsOut: Int, dropped: [DroppedRows] = [],
                columns: [ColumnCleaning] = [], rowErrors: Int = 0) {
        self.purpose = purpose
        self.rowsIn = rowsIn
        self.rowsOut = rowsOut
        self.dropped = dropped
        self.columns = columns
        self.rowErrors = rowErrors
    }

    public func column(_ name: String) -> ColumnCleaning? { columns.first { $0.name == name } }
    public var droppedTotal: Int { dropped.reduce(0) { $0 + $1.count } }
}

/// Rows removed by one rule.
public struct DroppedRows: Codable, Sendable, Equatable {
    /// `missing_id`, `missing_target` or `out_of_range`.
    public var rule: String
    public var column: String
    public var count: Int

    public init(rule: String, column: String, count: Int) {
        self.rule = rule
        self.column = column
        self.count = count
    }
}

/// What cleaning did to one column.
public struct ColumnCleaning: Codable, Sendable, Equatable {
    public var name: String
    public var kind: FeatureKind
    /// The rule applied, in words ("range 18…100, outside → missing").
    public var rule: String
    /// Values already missing in the input (of the rows that come out).
    public var missing: Int
    /// Values set missing by the range rule.
    public var setMissing: Int
    /// Values clipped to the range.
    public var clipped: Int
    /// Categorical values mapped to a different (canonical) spelling.
    public var corrected: Int
    /// Categorical values that matched nothing and became "unknown".
    public var unknown: Int
    /// from → to with counts (corrections and unknowns), most frequent first.
    public var corrections: [Correction]

    public init(name: String, kind: FeatureKind, rule: String, missing: Int = 0, setMissing: Int = 0,
                clipped: Int = 0, corrected: Int = 0, unknown: Int = 0, corrections: [Correction] = []) {
        self.name = name
        self.kind = kind
        self.rule = rule
        self.missing = missing
        self.setMissing = setMissing
        self.clipped = clipped
        self.corrected = corrected
        self.unknown = unknown
        self.corrections = corrections
    }
}

public struct Correction: Codable, Sendable, Equatable {
    public var from: String
    public var to: String
    public var count: Int

    public init(from: String, to: String, count: Int) {
        self.from = from
        self.to = to
        self.count = count
    }
}

/// The clean table and how it was made.
public struct CleanedTable: Sendable {
    /// id (categorical), target (numeric 0/1, missing stays missing; absent at scoring when
    /// the input has no target column), then the features in spec order.
    public var table: DataTable
    public var report: CleaningReport
    /// For each output row, its row index in the input.
    public var sourceRows: [Int]
    /// Scoring purpose only: rows a rule rejects (they stay in `table`).
    public var rowErrors: [RowError]

    public init(table: DataTable, report: CleaningReport, sourceRows: [Int], rowErrors: [RowError] = []) {
        self.table = table
        self.report = report
        self.sourceRows = sourceRows
        self.rowErrors = rowErrors
    }
}

/// The result of the range rule on one numeric value.
public enum NumericCleaning: Sendable, Equatable {
    /// The value to use (nil: missing, possibly because it was out of range).
    case value(Double?)
    /// The range rule's action is `drop`: a row error at scoring time.
    case rejected(reason: String)
}

/// Applies a dataset spec's cleaning rules: range rules on numbers, vocabulary and typo
/// correction on categories, drop rules on rows. Imputation is not done here.
public struct Cleaner: Sendable {
    /// The category of a value that matches no vocabulary entry.
    public static let unknownCategory = "unknown"

    public let spec: DatasetSpec
    private let canonicalizers: [String: CategoryCanonicalizer]
    private let features: [String: FeatureSpec]

    public init(spec: DatasetSpec) throws {
        try spec.validate()
        self.spec = spec
        var c: [String: CategoryCanonicalizer] = [:]
        var f: [String: FeatureSpec] = [:]
        for feature in spec.features {
            f[feature.name] = feature
            if let v = feature.vocabulary {
                c[feature.name] = CategoryCanonicalizer(vocabulary: v, maxEditDistance: feature.maxEditDistance ?? 2)
            }
        }
        canonicalizers = c
        features = f
    }

    /// Fast single-value canonicalization used at scoring time: the canonical category,
    /// "unknown", or nil for missing. A feature without a vocabulary returns the trimmed value.
    public func canonicalCategory(_ raw: String?, feature: String) -> String? {
        guard let raw, !MissingValues.isMissing(raw) else { return nil }
        guard let c = canonicalizers[feature] else { return raw.trimmedWhitespace }
        return c.canonical(raw)
    }

    /// Applies the numeric range rule of one value.
    public func cleanNumeric(_ raw: Double?, feature: String) -> NumericCleaning {
        switch numericOutcome(raw, rule: features[feature]?.range) {
        case .kept(let v): return .value(v)
        case .clipped(let v): return .value(v)
        case .setMissing: return .value(nil)
        case .drop: return .rejected(reason: rangeReason(raw ?? .nan, feature: feature))
        }
    }

    private enum NumericOutcome {
        case kept(Double?)
        case setMissing
        case clipped(Double)
        case drop
    }

    @inline(__always)
    private func numericOutcome(_ raw: Double?, rule: RangeRule?) -> NumericOutcome {
        guard let x = raw else { return .kept(nil) }
        guard x.isFinite else { return .setMissing }
        guard let rule else { return .kept(x) }
        var bound: Double?
        if let lo = rule.min, x < lo { bound = lo }
        if let hi = rule.max, x > hi { bound = hi }
        guard let bound else { return .kept(x) }
        switch rule.action {
        case .missing: return .setMissing
        case .clip: return .clipped(bound)
        case .drop: return .drop
        }
    }

    private func rangeReason(_ x: Double, feature: String) -> String {
        let r = features[feature]?.range
        let lo = r?.min.map(formatNumber) ?? "-∞"
        let hi = r?.max.map(formatNumber) ?? "∞"
        return "\(features[feature]?.label ?? feature) \(formatNumber(x)) is outside the valid range \(lo)…\(hi)"
    }

    private func ruleText(_ f: FeatureSpec, kind: FeatureKind) -> String {
        switch kind {
        case .numeric:
            guard let r = f.range else { return "none" }
            let lo = r.min.map(formatNumber) ?? "-∞"
            let hi = r.max.map(formatNumber) ?? "∞"
            let action = ["missing": "missing", "clip": "clipped", "drop": "row dropped"][r.action.rawValue]!
            return "range \(lo)…\(hi), outside → \(action)"
        case .categorical:
            guard let v = f.vocabulary else { return "none" }
            return "vocabulary \(v.joined(separator: ", ")); max edit distance \(f.maxEditDistance ?? 2); "
                + "unmatched → \(Self.unknownCategory)"
        }
    }

    /// Whether a raw target cell is the positive (default) class.
    public func isPositive(_ column: Column, row: Int) -> Bool? {
        switch column.values {
        case .numeric(let v):
            guard let x = v[row] else { return nil }
            if let p = Double(spec.target.positive) { return x == p }
            return formatNumber(x) == spec.target.positive
        case .categorical(let v):
            guard let s = v[row] else { return nil }
            let t = s.trimmedWhitespace
            if t == spec.target.positive { return true }
            if let a = Double(t), let p = Double(spec.target.positive) { return a == p }
            return t.lowercased() == spec.target.positive.lowercased()
        }
    }

    /// Cleans a raw table (as a source yields it) into id, target and features.
    public func clean(_ table: DataTable, purpose: CleaningPurpose) throws -> CleanedTable {
        let n = table.rowCount
        let training = purpose == .training
        var dropReason = [UInt8](repeating: 0, count: n) // 0 keep; 1 id; 2 target; 3 range
        var dropColumn = [String?](repeating: nil, count: n)
        var rowErrors: [RowError] = []

        // id
        guard let idColumn = table.column(named: spec.id) else {
            throw CleaningError(message: "id column '\(spec.id)' is not in the data (columns: "
                + table.columnNames.joined(separator: ", ") + ")")
        }
        let ids: [String?] = (0..<n).map { idColumn.isMissing(row: $0) ? nil : idColumn.text(row: $0) }
        if spec.dropRows.missingId {
            for r in 0..<n where ids[r] == nil {
                if training { dropReason[r] = 1; dropColumn[r] = spec.id }
                else { rowErrors.append(RowError(row: r, field: spec.id, value: "", reason: "missing id")) }
            }
        }

        // target
        var target: [Double?]?
        if let targetColumn = table.column(named: spec.target.column) {
            var t = [Double?](repeating: nil, count: n)
            for r in 0..<n {
                if let p = isPositive(targetColumn, row: r) { t[r] = p ? 1 : 0 }
                else if training && spec.dropRows.missingTarget && dropReason[r] == 0 {
                    dropReason[r] = 2
                    dropColumn[r] = spec.target.column
                }
            }
            target = t
        } else if training {
            throw CleaningError(message: "target column '\(spec.target.column)' is not in the data (columns: "
                + table.columnNames.joined(separator: ", ") + ")")
        }

        // features, column by column
        enum Cleaned {
            case numeric(values: [Double?], outcome: [UInt8]) // 0 kept, 1 set missing, 2 clipped
            case categorical(values: [String?], raw: [String?])
        }
        var cleanedFeatures: [(FeatureSpec, FeatureKind, Cleaned)] = []
        for f in spec.features {
            guard let column = table.column(named: f.name) else {
                throw CleaningError(message: "feature '\(f.name)' is not in the data (columns: "
                    + table.columnNames.joined(separator: ", ") + ")")
            }
            let kind = f.kind ?? (f.vocabulary != nil ? .categorical : (f.range != nil ? .numeric : column.kind))
            switch kind {
            case .numeric:
                let raw: [Double?]
                switch column.values {
                case .numeric(let v): raw = v
                case .categorical(let v):
                    var parsed = [Double?](repeating: nil, count: n)
                    for r in 0..<n {
                        guard let s = v[r] else { continue }
                        guard let x = Double(s.trimmedWhitespace) else {
                            if training {
                                throw CleaningError(message: "row \(r + 1), field \(f.name), value '\(s)': not a number")
                            }
                            rowErrors.append(RowError(row: r, field: f.name, value: s, reason: "not a number"))
                            continue
                        }
                        parsed[r] = x
                    }
                    raw = parsed
                }
                var values = [Double?](repeating: nil, count: n)
                var outcome = [UInt8](repeating: 0, count: n)
                for r in 0..<n {
                    switch numericOutcome(raw[r], rule: f.range) {
                    case .kept(let v): values[r] = v
                    case .setMissing: outcome[r] = 1
                    case .clipped(let v): values[r] = v; outcome[r] = 2
                    case .drop:
                        if training {
                            if dropReason[r] == 0 { dropReason[r] = 3; dropColumn[r] = f.name }
                        } else {
                            rowErrors.append(RowError(row: r, field: f.name, value: formatNumber(raw[r]!),
                                                      reason: rangeReason(raw[r]!, feature: f.name)))
                        }
                    }
                }
                cleanedFeatures.append((f, kind, .numeric(values: values, outcome: outcome)))
            case .categorical:
                let raw: [String?] = column.categoricalValues ?? (0..<n).map {
                    column.isMissing(row: $0) ? nil : column.text(row: $0)
                }
                var values = [String?](repeating: nil, count: n)
                var memo: [String: String] = [:]
                let canonicalizer = canonicalizers[f.name]
                for r in 0..<n {
                    guard let s = raw[r], !MissingValues.isMissing(s) else { continue }
                    if let c = memo[s] { values[r] = c; continue }
                    let c = canonicalizer?.canonical(s) ?? s.trimmedWhitespace
                    memo[s] = c
                    values[r] = c
                }
                cleanedFeatures.append((f, kind, .categorical(values: values, raw: raw)))
            }
        }

        // rows out
        let keep: [Int] = training ? (0..<n).filter { dropReason[$0] == 0 } : Array(0..<n)
        var out = DataTable()
        out.append(.categorical(spec.id, keep.map { ids[$0] }))
        if let target { out.append(.numeric(spec.target.column, keep.map { target[$0] })) }
        var columnReports: [ColumnCleaning] = []
        for (f, kind, cleaned) in cleanedFeatures {
            var report = ColumnCleaning(name: f.name, kind: kind, rule: ruleText(f, kind: kind), missing: 0,
                                        setMissing: 0, clipped: 0, corrected: 0, unknown: 0, corrections: [])
            switch cleaned {
            case .numeric(let values, let outcome):
                let column = table.column(named: f.name)!
                for r in keep {
                    if column.isMissing(row: r) { report.missing += 1 }
                    if outcome[r] == 1 { report.setMissing += 1 } else if outcome[r] == 2 { report.clipped += 1 }
                }
                out.append(.numeric(f.name, keep.map { values[$0] }))
            case .categorical(let values, let raw):
                var pairs: [String: (to: String, count: Int)] = [:]
                for r in keep {
                    guard let v = values[r] else { report.missing += 1; continue }
                    let s = raw[r]!
                    if v != s {
                        if v == Self.unknownCategory && s != Self.unknownCategory { report.unknown += 1 }
                        else { report.corrected += 1 }
                        pairs[s, default: (v, 0)].count += 1
                    }
                }
                report.corrections = pairs.map { Correction(from: $0.key, to: $0.value.to, count: $0.value.count) }
                    .sorted { ($0.count, $1.from) > ($1.count, $0.from) }
                out.append(.categorical(f.name, keep.map { values[$0] }))
            }
            columnReports.append(report)
        }

        var dropped: [DroppedRows] = []
        if training {
            var counts: [String: (rule: String, column: String, count: Int)] = [:]
            let names = [1: "missing_id", 2: "missing_target", 3: "out_of_range"]
            for r in 0..<n where dropReason[r] != 0 {
                let rule = names[Int(dropReason[r])]!
                let key = rule + "|" + (dropColumn[r] ?? "")
                counts[key, default: (rule, dropColumn[r] ?? "", 0)].count += 1
            }
            dropped = counts.values.map { DroppedRows(rule: $0.rule, column: $0.column, count: $0.count) }
                .sorted { ($0.rule, $0.column) < ($1.rule, $1.column) }
        }
        rowErrors.sort { ($0.row, $0.field) < ($1.row, $1.field) }
        let report = CleaningReport(purpose: purpose, rowsIn: n, rowsOut: keep.count, dropped: dropped,
                                    columns: columnReports, rowErrors: rowErrors.count)
        return CleanedTable(table: out, report: report, sourceRows: keep, rowErrors: rowErrors)
    }
}
