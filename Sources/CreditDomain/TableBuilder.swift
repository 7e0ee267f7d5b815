/// Turns the cells a source reads, row by row, into typed `DataTable` batches; every source
/// (and a later server driver) builds its batches with it, so kinds follow one rule.
///
/// Kinds: a forced column (`ColumnKinds`) has its kind from the start. An unforced column is
/// decided by the first `flush()`: numeric when every non-missing value so far is a number
/// (and there is at least one), categorical otherwise; later batches keep that kind (see
/// `DataSource`). Forced and decided columns hold one array; only an undecided column keeps
/// both readings (numbers and texts) until its kind is known.
public struct TableBuilder {
    public let source: String
    public let names: [String]
    private var columns: [ColumnBuilder]
    /// Rows in the current batch.
    public private(set) var rowCount = 0
    /// Rows already flushed (so error messages count from the first row of the result).
    private var rowsBefore = 0
    /// Batches flushed so far.
    public private(set) var flushed = 0

    /// Fails when a column name appears twice (`duplicate` words the message for the source).
    public init(source: String, names: [String], kinds: ColumnKinds,
                duplicate: (String) -> String = { "column '\($0)' appears twice" }) throws {
        var seen = Set<String>()
        for n in names where !seen.insert(n).inserted {
            throw DataSourceError.failed(source: source, message: duplicate(n))
        }
        self.source = source
        self.names = names
        columns = names.map { name in
            let forced = kinds.forced[name]
            let mode: ColumnBuilder.Mode = forced != nil ? .fixed
                : kinds.numericOrText.contains(name) ? .numericOrText
                : kinds.decideEachBatch ? .eachBatch : .firstBatch
            return ColumnBuilder(name: name, kind: forced ?? (mode == .numericOrText ? .numeric : nil), mode: mode)
        }
    }

    @inline(__always) public mutating func appendMissing(column i: Int) { columns[i].appendMissing() }
    @inline(__always) public mutating func append(number: Double, column i: Int) { columns[i].append(number: number) }
    /// A text cell: missing spellings (`MissingValues`) are missing; numbers are parsed.
    @inline(__always) public mutating func append(text: String, column i: Int) { columns[i].append(text: text) }
    /// Ends the current row (every column must have had one cell).
    @inline(__always) public mutating func endRow() { rowCount += 1 }

    /// Reserves room for `rows` more rows in every column.
    public mutating func reserve(rows: Int) {
        for i in columns.indices { columns[i].reserve(rows) }
    }

    /// The rows since the last flush as a table (deciding the kinds of unforced columns on
    /// the first call); starts an empty batch.
    public mutating func flush() throws -> DataTable {
        var table = DataTable()
        for i in columns.indices {
            table.append(try columns[i].take(rowsBefore: rowsBefore))
        }
        rowsBefore += rowCount
        rowCount = 0
        flushed += 1
        return table
    }
}

/// One column's cells as a source reads them.
private struct ColumnBuilder {
    enum Mode {
        /// Forced by `ColumnKinds.forced`.
        case fixed
        /// Decided on the first batch, kept after.
        case firstBatch
        /// Decided on each batch (`ColumnKinds.decideEachBatch`).
        case eachBatch
        /// Numeric, or text for a batch holding a non-number (`ColumnKinds.numericOrText`).
        case numericOrText
    }
    let name: String
    /// nil until decided (unforced, before the first flush). A `numericOrText` column reads
    /// `.numeric` until a batch meets a non-number, then `nil` (both readings) for that batch.
    var kind: FeatureKind?
    let mode: Mode
    var numbers: [Double?] = []
    var texts: [String?] = []
    /// Row (in this batch) and text of the first non-missing value that is not a number.
    var firstNonNumeric: (row: Int, value: String)?
    var nonMissing = 0
    var count = 0

    init(name: String, kind: FeatureKind?, mode: Mode) {
        self.name = name
        self.kind = kind
        self.mode = mode
    }

    mutating func reserve(_ n: Int) {
        if kind != .categorical { numbers.reserveCapacity(numbers.count + n) }
        if kind != .numeric { texts.reserveCapacity(texts.count + n) }
    }

    mutating func appendMissing() {
        if kind != .categorical { numbers.append(nil) }
        if kind != .numeric { texts.append(nil) }
        count += 1
    }

    mutating func append(number: Double) {
        nonMissing += 1
        if kind != .categorical { numbers.append(number) }
        if kind != .numeric { texts.append(formatNumber(number)) }
        count += 1
    }

    mutating func append(text: String) {
        if MissingValues.isMissing(text) {
            appendMissing()
            return
        }
        nonMissing += 1
        if kind != .categorical {
            if let d = Double(text.trimmedWhitespace), d.isFinite {
                numbers.append(d)
            } else {
                numbers.append(nil)
                if firstNonNumeric == nil { firstNonNumeric = (count, text) }
                if mode == .numericOrText && kind == .numeric {
                    // This batch turns to text: the cells so far as text (their numbers written
                    // back exactly; the scorer parses them again), then both readings.
                    texts = numbers.dropLast().map { $0.map(formatNumber) }
                    kind = nil
                }
            }
        }
        if kind != .numeric { texts.append(text) }
        count += 1
    }

    /// The column of the current batch; empties the builder (its kind stays decided, except
    /// for the per-batch modes).
    mutating func take(rowsBefore: Int) throws -> Column {
        let decided = kind ?? ((firstNonNumeric == nil && nonMissing > 0) ? .numeric : .categorical)
        let wasDecided = kind != nil
        switch mode {
        case .fixed, .firstBatch: kind = decided
        case .eachBatch: kind = nil
        case .numericOrText: kind = .numeric
        }
        defer {
            numbers = []; texts = []
            firstNonNumeric = nil; nonMissing = 0; count = 0
        }
        if mode == .numericOrText {
            return firstNonNumeric == nil ? .numeric(name, numbers) : .categorical(name, texts)
        }
        switch decided {
        case .numeric:
            if let bad = firstNonNumeric {
                let row = rowsBefore + bad.row
                if wasDecided && mode != .fixed {
                    throw DataSourceError.kindDecided(row: row, column: name, value: bad.value)
                }
                throw DataSourceError.notNumeric(row: row, column: name, value: bad.value)
            }
            return .numeric(name, numbers)
        case .categorical:
            return .categorical(name, texts)
        }
    }
}
