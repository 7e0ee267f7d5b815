import Foundation

/// Why a table is being cleaned.
public enum CleaningPurpose: String, Codable, Sendable {
    /// Applies the drop rules (missing id, missing target, out-of-range with action `drop`).
    case training
    /// Never drops: a row that a rule would drop stays (offending value missing) and gets a
    /// `RowError` instead. A missing target is not an error at scoring time.
    case scoring
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
