import Foundation

/// Applies a dataset spec's cleaning rules: range rules on numbers, vocabulary and typo
/// correction on categories, drop rules on rows. Imputation is not done here.
public struct Cleaner: Sendable {
    /// The category of a value that matches no vocabulary entry.
    public static let unknownCategory = "unknown"

    /// The compiled spec whose rules this cleaner applies.
    public let schema: Schema
    public var spec: DatasetSpec { schema.spec }

    public init(schema: Schema) {
        self.schema = schema
    }

    /// Compiles the spec on its own: every feature's kind must follow from the spec (its
    /// `kind`, a vocabulary or a range). When the data decides a kind, compile with it:
    /// `Cleaner(schema: Schema(spec: spec, table: raw))`.
    public init(spec: DatasetSpec) throws {
        self.init(schema: try Schema(spec: spec))
    }

    /// Fast single-value canonicalization used at scoring time: the canonical category,
    /// "unknown", or nil for missing. A feature without a vocabulary returns the trimmed value.
    public func canonicalCategory(_ raw: String?, feature: String) -> String? {
        guard let raw, !MissingValues.isMissing(raw) else { return nil }
        guard let c = schema.feature(named: feature)?.canonicalizer else { return raw.trimmedWhitespace }
        return c.canonical(raw)
    }

    /// Applies the numeric range rule of one value.
    public func cleanNumeric(_ raw: Double?, feature: String) -> NumericCleaning {
        let f = schema.feature(named: feature)
        switch numericOutcome(raw, rule: f?.range) {
        case .kept(let v): return .value(v)
        case .clipped(let v): return .value(v)
        case .setMissing: return .value(nil)
        case .drop: return .rejected(reason: f!.outsideRangeReason(raw ?? .nan))
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

    /// Whether a raw target cell is the positive (default) class (`Schema.isPositive`).
    public func isPositive(_ column: Column, row: Int) -> Bool? {
        schema.isPositive(column, row: row)
    }

    /// Cleans a raw table (as a source yields it) into id, target and features.
    public func clean(_ table: DataTable, purpose: CleaningPurpose) throws -> CleanedTable {
        let n = table.rowCount
        let training = purpose == .training
        var dropReason = [UInt8](repeating: 0, count: n) // 0 keep; 1 id; 2 target; 3 range
        var dropColumn = [String?](repeating: nil, count: n)
        var rowErrors: [RowError] = []

        // id
        let spec = schema.spec
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
                if let p = schema.isPositive(targetColumn, row: r) { t[r] = p ? 1 : 0 }
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
        var cleanedFeatures: [(SchemaFeature, Cleaned)] = []
        for f in schema.features {
            guard let column = table.column(named: f.name) else {
                throw CleaningError(message: "feature '\(f.name)' is not in the data (columns: "
                    + table.columnNames.joined(separator: ", ") + ")")
            }
            switch f.kind {
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
                                                      reason: f.outsideRangeReason(raw[r]!)))
                        }
                    }
                }
                cleanedFeatures.append((f, .numeric(values: values, outcome: outcome)))
            case .categorical:
                let raw: [String?] = column.categoricalValues ?? (0..<n).map {
                    column.isMissing(row: $0) ? nil : column.text(row: $0)
                }
                var values = [String?](repeating: nil, count: n)
                var memo: [String: String] = [:]
                let canonicalizer = f.canonicalizer
                for r in 0..<n {
                    guard let s = raw[r], !MissingValues.isMissing(s) else { continue }
                    if let c = memo[s] { values[r] = c; continue }
                    let c = canonicalizer?.canonical(s) ?? s.trimmedWhitespace
                    memo[s] = c
                    values[r] = c
                }
                cleanedFeatures.append((f, .categorical(values: values, raw: raw)))
            }
        }

        // rows out
        let keep: [Int] = training ? (0..<n).filter { dropReason[$0] == 0 } : Array(0..<n)
        var out = DataTable()
        out.append(.categorical(spec.id, keep.map { ids[$0] }))
        if let target { out.append(.numeric(spec.target.column, keep.map { target[$0] })) }
        var columnReports: [ColumnCleaning] = []
        for (f, cleaned) in cleanedFeatures {
            var report = ColumnCleaning(name: f.name, kind: f.kind, rule: f.ruleText, missing: 0,
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
