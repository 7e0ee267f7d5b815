// STAND-IN until data branch merges.
//
// Minimal private copies of the CreditData API the pipeline codes against (cleaner, data
// sources, spec loading), so this branch compiles and its end-to-end tests run before the
// data branch lands. The lead DELETES THIS WHOLE FILE at merge; nothing else in the
// pipeline refers to anything that is only here. Behaviour is deliberately simple:
// exact/case-insensitive vocabulary matching, range rules, CSV reading without quoting
// subtleties.

import CreditData
import Foundation

// STAND-IN until data branch merges
public enum CleaningPurpose: Sendable { case training; case scoring }

// STAND-IN until data branch merges
public struct RowError: Error, Sendable, Equatable, CustomStringConvertible {
    public var row: Int
    public var field: String
    public var value: String
    public var reason: String
    public init(row: Int, field: String, value: String, reason: String) {
        self.row = row; self.field = field; self.value = value; self.reason = reason
    }
    public var description: String { "row \(row): \(field) = '\(value)': \(reason)" }
}

// STAND-IN until data branch merges
public struct CleaningReport: Codable, Sendable, Equatable {
    public var rowsIn: Int = 0
    public var rowsOut: Int = 0
    public init() {}
}

// STAND-IN until data branch merges
public struct CleanedTable: Sendable {
    public var table: DataTable
    public var report: CleaningReport
    public var sourceRows: [Int]
    public var rowErrors: [RowError]
}

// STAND-IN until data branch merges
public enum NumericCleaning: Sendable, Equatable {
    case value(Double?)
    case rejected(reason: String)
}

// STAND-IN until data branch merges
public struct Cleaner: Sendable {
    public static let unknownCategory = "unknown"
    public let spec: DatasetSpec
    public init(spec: DatasetSpec) throws { self.spec = spec }

    public func canonicalCategory(_ raw: String?, feature: String) -> String? {
        guard let raw, !MissingValues.isMissing(raw) else { return nil }
        let t = raw.trimmingCharacters(in: .whitespaces)
        guard let vocab = spec.feature(named: feature)?.vocabulary else { return t }
        if let hit = vocab.first(where: { $0.lowercased() == t.lowercased() }) { return hit }
        return "unknown"
    }

    public func cleanNumeric(_ raw: Double?, feature: String) -> NumericCleaning {
        guard let v = raw, v.isFinite else { return .value(nil) }
        guard let rule = spec.feature(named: feature)?.range else { return .value(v) }
        let below = rule.min.map { v < $0 } ?? false
        let above = rule.max.map { v > $0 } ?? false
        guard below || above else { return .value(v) }
        switch rule.action {
        case .missing: return .value(nil)
        case .clip: return .value(below ? rule.min! : rule.max!)
        case .drop: return .rejected(reason: "outside the valid range")
        }
    }

    public func clean(_ table: DataTable, purpose: CleaningPurpose) throws -> CleanedTable {
        var keep: [Int] = []
        var errors: [RowError] = []
        let idCol = table.column(named: spec.id)
        let targetCol = table.column(named: spec.target.column)
        var target: [Double?] = []
        var numeric: [String: [Double?]] = [:]
        var categorical: [String: [String?]] = [:]
        for f in spec.features {
            guard let col = table.column(named: f.name) else {
                throw RowError(row: 0, field: f.name, value: "", reason: "column missing from the input")
            }
            let kind = f.kind ?? col.kind
            if kind == .numeric {
                let raw: [Double?]
                switch col.values {
                case .numeric(let v): raw = v
                case .categorical(let v): raw = v.map { $0.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } }
                }
                numeric[f.name] = raw
            } else {
                categorical[f.name] = col.values.asText
            }
        }
        rows: for r in 0..<table.rowCount {
            if spec.dropRows.missingId, let idCol, idCol.isMissing(row: r) {
                if purpose == .scoring {
                    errors.append(RowError(row: r, field: spec.id, value: "", reason: "missing id"))
                    keep.append(r); target.append(nil)   // scoring keeps every row; errors are listed
                }
                continue
            }
            var y: Double? = nil
            if purpose == .training {
                guard let targetCol, !targetCol.isMissing(row: r) else { continue }
                y = targetCol.text(row: r) == spec.target.positive ? 1 : 0
            }
            for f in spec.features where numeric[f.name] != nil {
                if case .rejected(let reason) = cleanNumeric(numeric[f.name]![r], feature: f.name) {
                    if purpose == .scoring {
                        errors.append(RowError(row: r, field: f.name, value: numeric[f.name]![r].map(formatNumber) ?? "", reason: reason))
                        keep.append(r); target.append(nil)
                    }
                    continue rows
                }
            }
            keep.append(r)
            target.append(y)
        }
        var out = DataTable()
        if let idCol { out.append(.categorical(spec.id, keep.map { idCol.isMissing(row: $0) ? nil : idCol.text(row: $0) })) }
        if purpose == .training { out.append(.numeric(spec.target.column, target)) }
        for f in spec.features {
            if let v = numeric[f.name] {
                out.append(.numeric(f.name, keep.map { r -> Double? in
                    if case .value(let x) = cleanNumeric(v[r], feature: f.name) { return x }
                    return nil
                }))
            } else if let v = categorical[f.name] {
                out.append(.categorical(f.name, keep.map { canonicalCategory(v[$0], feature: f.name) }))
            }
        }
        var report = CleaningReport()
        report.rowsIn = table.rowCount
        report.rowsOut = keep.count
        return CleanedTable(table: out, report: report, sourceRows: keep, rowErrors: errors)
    }
}

private extension Column.Values {
    var asText: [String?] {
        switch self {
        case .numeric(let v): return v.map { $0.map(formatNumber) }
        case .categorical(let v): return v
        }
    }
}

// STAND-IN until data branch merges
public struct ColumnKinds: Sendable, Equatable {
    public var forced: [String: FeatureKind]
    public init(forced: [String: FeatureKind] = [:]) { self.forced = forced }
}

// STAND-IN until data branch merges
public protocol DataSink {
    var description: String { get }
    func write(_ table: DataTable) throws
}

// STAND-IN until data branch merges
public enum DataSources {
    public static func open(_ url: String, kinds: ColumnKinds = ColumnKinds()) throws -> any DataSource {
        guard url.hasPrefix("csv:") else {
            throw RowError(row: 0, field: "source", value: url, reason: "stand-in supports csv: only")
        }
        return StandInCSVSource(path: String(url.dropFirst(4)), kinds: kinds)
    }

    public static func sink(_ url: String) throws -> any DataSink {
        guard url.hasPrefix("csv:") else {
            throw RowError(row: 0, field: "sink", value: url, reason: "stand-in supports csv: only")
        }
        return StandInCSVSink(path: String(url.dropFirst(4)))
    }
}

// STAND-IN until data branch merges
struct StandInCSVSink: DataSink {
    var path: String
    var description: String { "csv:\(path)" }
    func write(_ table: DataTable) throws {
        func field(_ s: String) -> String {
            guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return s }
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        var out = table.columnNames.map(field).joined(separator: ",") + "\n"
        for r in 0..<table.rowCount { out += table.columns.map { field($0.text(row: r)) }.joined(separator: ",") + "\n" }
        try out.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

// STAND-IN until data branch merges
struct StandInCSVSource: DataSource {
    var path: String
    var kinds: ColumnKinds
    var description: String { "csv:\(path)" }
    func read(query: String?) throws -> DataTable {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard !lines.isEmpty else { return DataTable() }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var cells = Array(repeating: [String?](), count: header.count)
        for line in lines {
            let parts = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            for c in 0..<header.count {
                let t = c < parts.count ? parts[c] : ""
                cells[c].append(MissingValues.isMissing(t) ? nil : t)
            }
        }
        var table = DataTable()
        for (c, name) in header.enumerated() {
            let present = cells[c].compactMap { $0 }
            let forced = kinds.forced[name]
            if forced == .numeric || (forced == nil && !present.isEmpty && present.allSatisfy({ Double($0) != nil })) {
                table.append(.numeric(name, cells[c].map { $0.flatMap { Double($0) } }))
            } else {
                table.append(.categorical(name, cells[c]))
            }
        }
        return table
    }
}

// STAND-IN until data branch merges
extension DatasetSpec {
    public var forcedKinds: ColumnKinds {
        var forced: [String: FeatureKind] = [id: .categorical]
        for f in features { if let k = f.kind { forced[f.name] = k } }
        return ColumnKinds(forced: forced)
    }

    public static func load(from path: String) throws -> DatasetSpec {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(DatasetSpec.self, from: data)
    }
}
