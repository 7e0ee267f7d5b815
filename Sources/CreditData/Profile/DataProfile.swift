import CreditDomain
import Foundation

/// Numbers that describe a raw loan book, column by column, with default rates.
///
/// Computed on the RAW (as-queried) table so missing counts agree with a direct SQL count
/// (`col IS NULL OR col = ''`); the cleaning report of the same table sits beside it.
public struct DataProfile: Codable, Sendable, Equatable {
    public var dataset: String
    public var source: String
    public var rows: Int
    public var classBalance: ClassBalance?
    public var columns: [ColumnProfile]
    public var cleaning: CleaningReport?

    public func column(_ name: String) -> ColumnProfile? { columns.first { $0.name == name } }

    /// Encodes as pretty, key-sorted JSON with snake_case keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }

    public static func decode(json: Data) throws -> DataProfile {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(DataProfile.self, from: json)
    }
}

/// Labelled rows, defaults, and rows without an outcome.
public struct ClassBalance: Codable, Sendable, Equatable {
    public var target: String
    public var positive: String
    public var labelled: Int
    public var positives: Int
    public var negatives: Int
    public var unlabelled: Int
    public var defaultRate: Double?
}

/// Counts of rows and defaults in a group (a bin, a category, the missing values).
public struct GroupStat: Codable, Sendable, Equatable {
    /// The category, or a bin's label ("20–25").
    public var label: String
    public var lower: Double?
    public var upper: Double?
    public var count: Int
    public var labelled: Int
    public var defaults: Int
    /// For categories of a feature with a vocabulary: whether the raw value is a valid entry.
    public var valid: Bool?
    public var defaultRate: Double? { labelled > 0 ? Double(defaults) / Double(labelled) : nil }

    enum CodingKeys: String, CodingKey { case label, lower, upper, count, labelled, defaults, valid, defaultRate }

    public init(label: String, lower: Double? = nil, upper: Double? = nil, count: Int = 0, labelled: Int = 0,
                defaults: Int = 0, valid: Bool? = nil) {
        self.label = label
        self.lower = lower
        self.upper = upper
        self.count = count
        self.labelled = labelled
        self.defaults = defaults
        self.valid = valid
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        label = try c.decode(String.self, forKey: .label)
        lower = try c.decodeIfPresent(Double.self, forKey: .lower)
        upper = try c.decodeIfPresent(Double.self, forKey: .upper)
        count = try c.decode(Int.self, forKey: .count)
        labelled = try c.decode(Int.self, forKey: .labelled)
        defaults = try c.decode(Int.self, forKey: .defaults)
        valid = try c.decodeIfPresent(Bool.self, forKey: .valid)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(label, forKey: .label)
        try c.encodeIfPresent(lower, forKey: .lower)
        try c.encodeIfPresent(upper, forKey: .upper)
        try c.encode(count, forKey: .count)
        try c.encode(labelled, forKey: .labelled)
        try c.encode(defaults, forKey: .defaults)
        try c.encodeIfPresent(valid, forKey: .valid)
        try c.encodeIfPresent(defaultRate, forKey: .defaultRate)
    }
}

public struct NumericSummary: Codable, Sendable, Equatable {
    public var min: Double
    public var q1: Double
    public var median: Double
    public var q3: Double
    public var max: Double
    public var mean: Double
    public var std: Double
    /// The spec's valid range, when it has one.
    public var rangeMin: Double?
    public var rangeMax: Double?
    /// Values below / above the spec's valid range (what cleaning will act on).
    public var outliersBelow: Int
    public var outliersAbove: Int
    /// Values outside the histogram's extent (smallest valid value to the 99.5th percentile).
    public var beyondChart: Int
    public var histogram: [GroupStat]
}

public struct ColumnProfile: Codable, Sendable, Equatable {
    public var name: String
    public var label: String
    /// id, target, feature or other (in the data but not in the spec).
    public var role: String
    public var kind: FeatureKind
    public var count: Int
    public var present: Int
    public var missing: Int
    public var distinct: Int
    public var numeric: NumericSummary?
    /// Categories by count (all of them, most frequent first).
    public var categories: [GroupStat]?
    /// Rows where this column is missing, with their defaults.
    public var missingGroup: GroupStat
}

/// Computes a `DataProfile`.
public struct Profiler {
    public var spec: DatasetSpec
    public var bins: Int

    public init(spec: DatasetSpec, bins: Int = 20) {
        self.spec = spec
        self.bins = bins
    }

    public func profile(_ table: DataTable, source: String) throws -> DataProfile {
        // Kinds the spec leaves open are the data's; a feature absent from the table gets a
        // placeholder (the cleaning report below needs every feature, so it is not made then).
        var kinds = Dictionary(uniqueKeysWithValues: table.columns.map { ($0.name, $0.kind) })
        for f in spec.features where kinds[f.name] == nil { kinds[f.name] = .categorical }
        let schema = try Schema(spec: spec, kinds: kinds)
        let cleaner = Cleaner(schema: schema)
        let n = table.rowCount
        // Outcome per row: nil unlabelled.
        var outcome = [Bool?](repeating: nil, count: n)
        var balance: ClassBalance?
        if let t = table.column(named: spec.target.column) {
            for r in 0..<n { outcome[r] = schema.isPositive(t, row: r) }
            let labelled = outcome.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
            let positives = outcome.reduce(0) { $0 + ($1 == true ? 1 : 0) }
            balance = ClassBalance(target: spec.target.column, positive: spec.target.positive, labelled: labelled,
                                   positives: positives, negatives: labelled - positives, unlabelled: n - labelled,
                                   defaultRate: labelled > 0 ? Double(positives) / Double(labelled) : nil)
        }
        func add(_ g: inout GroupStat, _ r: Int) {
            g.count += 1
            if let o = outcome[r] {
                g.labelled += 1
                if o { g.defaults += 1 }
            }
        }
        var columns: [ColumnProfile] = []
        for column in table.columns {
            let f = schema.feature(named: column.name)
            let role = column.name == spec.id ? "id" : column.name == spec.target.column ? "target"
                : f != nil ? "feature" : "other"
            var missingGroup = GroupStat(label: "missing")
            var p = ColumnProfile(name: column.name, label: schema.label(of: column.name), role: role, kind: column.kind,
                                  count: n, present: 0, missing: 0, distinct: 0, numeric: nil, categories: nil,
                                  missingGroup: missingGroup)
            switch column.values {
            case .numeric(let values):
                var present: [(Double, Int)] = []
                present.reserveCapacity(n)
                for r in 0..<n {
                    if let x = values[r] { present.append((x, r)) } else { add(&missingGroup, r) }
                }
                p.present = present.count
                p.missing = n - present.count
                p.distinct = Set(present.map(\.0)).count
                if !present.isEmpty {
                    p.numeric = numericSummary(present, range: f?.range, add: add)
                }
            case .categorical(let values):
                var groups: [String: GroupStat] = [:]
                var present = 0
                let vocabulary = f?.vocabulary.map(Set.init)
                for r in 0..<n {
                    guard let v = values[r] else { add(&missingGroup, r); continue }
                    present += 1
                    if groups[v] == nil {
                        groups[v] = GroupStat(label: v, valid: vocabulary.map { $0.contains(v) })
                    }
                    add(&groups[v]!, r)
                }
                p.present = present
                p.missing = n - present
                p.distinct = groups.count
                // An identifier has as many categories as rows: its count of distinct values says
                // all there is, and listing them would make the JSON as large as the table.
                if role != "id" {
                    p.categories = groups.values.sorted { ($0.count, $1.label) > ($1.count, $0.label) }
                }
            }
            p.missingGroup = missingGroup
            columns.append(p)
        }
        var report: CleaningReport?
        if table.contains(column: spec.id) && spec.features.allSatisfy({ table.contains(column: $0.name) }) {
            report = try cleaner.clean(table, purpose: balance == nil ? .scoring : .training).report
        }
        return DataProfile(dataset: spec.name, source: source, rows: n, classBalance: balance, columns: columns,
                           cleaning: report)
    }

    private func numericSummary(_ present: [(Double, Int)], range: RangeRule?,
                                add: (inout GroupStat, Int) -> Void) -> NumericSummary {
        let sorted = present.map(\.0).sorted()
        func quantile(_ q: Double) -> Double {
            let pos = q * Double(sorted.count - 1)
            let i = Int(pos.rounded(.down))
            let frac = pos - Double(i)
            return i + 1 < sorted.count ? sorted[i] + frac * (sorted[i + 1] - sorted[i]) : sorted[i]
        }
        let mean = sorted.reduce(0, +) / Double(sorted.count)
        let variance = sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, sorted.count - 1))
        let q1 = quantile(0.25), q3 = quantile(0.75)
        // Chart extent: from the smallest valid value to the 99.5th percentile (within the
        // valid range); the few values beyond are counted in `beyondChart`.
        let validLow = range?.min.flatMap { a in sorted.first { $0 >= a } } ?? sorted.first!
        let lo = validLow
        var hi = quantile(0.995)
        if let b = range?.max { hi = Swift.min(hi, b) }
        if sorted.last! <= hi || hi < lo { hi = Swift.max(lo, Swift.min(sorted.last!, range?.max ?? sorted.last!)) }
        // Bins: whole-number columns with a small span get one bin per value.
        let integral = sorted.allSatisfy { $0 == $0.rounded() }
        var edges: [Double] = []
        if integral && hi - lo + 1 <= Double(bins) {
            edges = stride(from: lo, through: hi + 1, by: 1).map { $0 }
        } else if integral {
            // Whole numbers: bins of a whole width, so every bin holds as many values.
            let w = ((hi - lo + 1) / Double(bins)).rounded(.up)
            edges = stride(from: lo, through: hi + w, by: w).map { $0 }
            if edges.last! <= hi { edges.append(edges.last! + w) }
            if edges.count >= 2, edges[edges.count - 2] > hi { edges.removeLast() }
        } else if hi > lo {
            let width = (hi - lo) / Double(bins)
            edges = (0...bins).map { lo + Double($0) * width }
        } else {
            edges = [lo, lo + 1]
        }
        var histogram: [GroupStat] = (0..<(edges.count - 1)).map {
            let label = integral && edges[$0 + 1] - edges[$0] == 1 ? formatNumber(edges[$0])
                : integral ? "\(shortNumber(edges[$0]))–\(shortNumber(edges[$0 + 1] - 1))"
                : "\(shortNumber(edges[$0]))–\(shortNumber(edges[$0 + 1]))"
            return GroupStat(label: label, lower: edges[$0], upper: edges[$0 + 1])
        }
        var beyond = 0, below = 0, above = 0
        let last = histogram.count - 1
        let width = edges[1] - edges[0]
        for (x, r) in present {
            if let a = range?.min, x < a { below += 1 }
            if let b = range?.max, x > b { above += 1 }
            guard x >= lo, x <= hi else { beyond += 1; continue }
            let i = Swift.min(last, Int((x - edges[0]) / width))
            add(&histogram[i], r)
        }
        return NumericSummary(min: sorted.first!, q1: q1, median: quantile(0.5), q3: q3, max: sorted.last!,
                              mean: mean, std: variance.squareRoot(), rangeMin: range?.min, rangeMax: range?.max,
                              outliersBelow: below, outliersAbove: above, beyondChart: beyond, histogram: histogram)
    }
}

/// A compact number for labels: 1.2k, 35k, 1.5M, 0.25, 13.5.
func shortNumber(_ x: Double) -> String {
    let a = abs(x)
    func trim(_ s: String) -> String {
        var s = s
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }
    if a >= 1_000_000 { return trim(String(format: "%.1f", x / 1_000_000)) + "M" }
    if a >= 10_000 { return trim(String(format: "%.0f", x / 1000)) + "k" }
    if a >= 1000 { return trim(String(format: "%.1f", x / 1000)) + "k" }
    if a >= 100 { return String(format: "%.0f", x) }
    if a >= 1 { return trim(String(format: "%.1f", x)) }
    return trim(String(format: "%.2f", x))
}
