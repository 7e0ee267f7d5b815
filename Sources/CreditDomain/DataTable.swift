import Foundation

/// A typed, column-oriented table: what every data source yields and what cleaning,
/// profiling and the models consume.
///
/// Missing values: a numeric cell is missing when it is `nil`; a categorical cell is
/// missing when it is `nil`. Sources map SQL `NULL`, the empty string and `NA` to missing
/// (see `MissingValues`).
public struct DataTable: Sendable, Equatable {
    public private(set) var columns: [Column]
    private var index: [String: Int]

    public init(columns: [Column] = []) {
        self.columns = []
        self.index = [:]
        for column in columns { append(column) }
    }

    /// Number of rows (all columns have the same length; an empty table has 0).
    public var rowCount: Int { columns.first?.count ?? 0 }
    public var columnNames: [String] { columns.map(\.name) }

    public func column(named name: String) -> Column? {
        index[name].map { columns[$0] }
    }

    public func contains(column name: String) -> Bool { index[name] != nil }

    /// Appends a column; its length must match the table's (programmer error otherwise).
    public mutating func append(_ column: Column) {
        precondition(index[column.name] == nil, "duplicate column \(column.name)")
        precondition(columns.isEmpty || column.count == rowCount,
                     "column \(column.name) has \(column.count) rows, table has \(rowCount)")
        index[column.name] = columns.count
        columns.append(column)
    }

    /// Replaces the column with the same name (or appends it when absent).
    public mutating func replace(_ column: Column) {
        if let i = index[column.name] {
            precondition(column.count == rowCount, "column \(column.name) length mismatch")
            columns[i] = column
        } else {
            append(column)
        }
    }

    /// Appends the rows of a table with the same columns (names, order and kinds; programmer
    /// error otherwise): concatenates the batches of a streamed source.
    public mutating func appendRows(of other: DataTable) {
        precondition(other.columns.map(\.name) == columns.map(\.name), "appendRows: the tables have different columns")
        for i in columns.indices {
            switch (columns[i].values, other.columns[i].values) {
            case (.numeric(var a), .numeric(let b)):
                columns[i].values = .numeric([])   // a unique buffer: append in place
                a.append(contentsOf: b)
                columns[i].values = .numeric(a)
            case (.categorical(var a), .categorical(let b)):
                columns[i].values = .categorical([])
                a.append(contentsOf: b)
                columns[i].values = .categorical(a)
            default:
                preconditionFailure("appendRows: column \(columns[i].name) has another kind in the appended table")
            }
        }
    }

    /// Keeps only the rows whose indices are listed, in that order.
    public func selecting(rows: [Int]) -> DataTable {
        DataTable(columns: columns.map { $0.selecting(rows: rows) })
    }

    public static func == (a: DataTable, b: DataTable) -> Bool { a.columns == b.columns }
}

/// One column of a `DataTable`.
public struct Column: Sendable, Equatable {
    public enum Values: Sendable, Equatable {
        case numeric([Double?])
        case categorical([String?])
    }

    public var name: String
    public var values: Values

    public init(name: String, values: Values) {
        self.name = name
        self.values = values
    }

    public static func numeric(_ name: String, _ values: [Double?]) -> Column {
        Column(name: name, values: .numeric(values))
    }

    public static func categorical(_ name: String, _ values: [String?]) -> Column {
        Column(name: name, values: .categorical(values))
    }

    public var kind: FeatureKind {
        switch values {
        case .numeric: return .numeric
        case .categorical: return .categorical
        }
    }

    public var count: Int {
        switch values {
        case .numeric(let v): return v.count
        case .categorical(let v): return v.count
        }
    }

    public var missingCount: Int {
        switch values {
        case .numeric(let v): return v.reduce(0) { $0 + ($1 == nil ? 1 : 0) }
        case .categorical(let v): return v.reduce(0) { $0 + ($1 == nil ? 1 : 0) }
        }
    }

    public var numericValues: [Double?]? {
        if case .numeric(let v) = values { return v }
        return nil
    }

    public var categoricalValues: [String?]? {
        if case .categorical(let v) = values { return v }
        return nil
    }

    public func isMissing(row: Int) -> Bool {
        switch values {
        case .numeric(let v): return v[row] == nil
        case .categorical(let v): return v[row] == nil
        }
    }

    /// The cell as text, as a person would read it ("" for missing).
    public func text(row: Int) -> String {
        switch values {
        case .numeric(let v): return v[row].map(formatNumber) ?? ""
        case .categorical(let v): return v[row] ?? ""
        }
    }

    public func selecting(rows: [Int]) -> Column {
        switch values {
        case .numeric(let v): return .numeric(name, rows.map { v[$0] })
        case .categorical(let v): return .categorical(name, rows.map { v[$0] })
        }
    }
}

/// How a source decides the kind of each column.
///
/// A column is numeric when every non-missing value parses as a number, categorical
/// otherwise (and categorical when it holds no value at all). `forced` overrides that per
/// column: a dataset spec forces its id to categorical and features with an explicit kind.
///
/// Streamed scoring reads a table in batches but must not fail a whole run on one odd cell,
/// so it relaxes the rule "an unforced column is decided on the first batch" two ways:
/// `numericOrText` columns (a model's numeric features) are numeric in every batch whose cells
/// are all numbers and text in a batch that holds another value (the scorer then gives that
/// row an error), and with `decideEachBatch` every other unforced column is decided on each
/// batch alone.
public struct ColumnKinds: Sendable, Equatable {
    public var forced: [String: FeatureKind]
    public var numericOrText: Set<String>
    public var decideEachBatch: Bool

    public init(forced: [String: FeatureKind] = [:], numericOrText: Set<String> = [], decideEachBatch: Bool = false) {
        self.forced = forced
        self.numericOrText = numericOrText
        self.decideEachBatch = decideEachBatch
    }
}

/// Whether a feature is a number or a label.
public enum FeatureKind: String, Codable, Sendable {
    case numeric
    case categorical
}

extension String {
    /// Exactly `trimmingCharacters(in: .whitespaces)`, with a fast path for the common cell:
    /// when the first and last UTF-8 bytes are printable ASCII other than space, nothing can
    /// be trimmed and the string is returned as is (Foundation's trim costs ~0.3 µs a call,
    /// a fifth of `credit train` on the loan book before this).
    public var trimmedWhitespace: String {
        let u = utf8
        guard let f = u.first, let l = u.last else { return self }
        if f > 0x20 && f < 0x7F && l > 0x20 && l < 0x7F { return self }
        return trimmingCharacters(in: .whitespaces)
    }
}

/// The spellings of "no value" that every source maps to missing.
public enum MissingValues {
    public static func isMissing(_ text: String) -> Bool {
        let t = text.trimmedWhitespace
        return t.isEmpty || t == "NULL" || t == "NA" || t == "null" || t == "N/A"
    }
}

/// Formats a number without a spurious ".0" for integers (CSV and reports).
public func formatNumber(_ x: Double) -> String {
    if x.isNaN { return "" }
    if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
    return "\(x)"
}
