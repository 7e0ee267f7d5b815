import CreditDomain
import Foundation

/// What a command reads, resolved one way for every command (`credit train`, `evaluate`,
/// `score` in process or through a daemon, `profile`):
///
/// - **source**: a data location (`sqlite:PATH`, `csv:PATH`, or a registered scheme),
///   opened with `kinds`;
/// - **query**: the `--query` argument (SQL, or `@file.sql`: the file's text), else the
///   spec's default query (`query` / `query_file`) when the source takes a query, else none;
/// - **rows**: only those whose id (`idColumn`) is in `onlyIDs` and not in `excludeIDs`,
///   when either is given, in input order.
public struct DataRequest: Sendable {
    public var location: String
    /// The `--query` argument as given: SQL, or `@PATH` for a file of SQL.
    public var query: String?
    /// The spec's default query (already read from `query_file`), for sources that take one.
    public var defaultQuery: String?
    public var kinds: ColumnKinds
    public var idColumn: String?
    public var onlyIDs: Set<String>?
    public var excludeIDs: Set<String>?

    public init(location: String, query: String? = nil, defaultQuery: String? = nil, kinds: ColumnKinds = ColumnKinds(),
                idColumn: String? = nil, onlyIDs: Set<String>? = nil, excludeIDs: Set<String>? = nil) {
        self.location = location
        self.query = query
        self.defaultQuery = defaultQuery
        self.kinds = kinds
        self.idColumn = idColumn
        self.onlyIDs = onlyIDs
        self.excludeIDs = excludeIDs
    }

    /// The query a source runs for this request.
    public func resolvedQuery(for source: any DataSource) throws -> String? {
        if let query { return try DataSources.resolveQuery(query) }
        return source.acceptsQuery ? defaultQuery : nil
    }

    /// Streams the selected rows in batches of at most `rows` (see `DataSource.forEachBatch`).
    public func forEachBatch(rows: Int, _ body: (DataTable) throws -> Void) throws {
        let source = try DataSources.open(location, kinds: kinds)
        let sql = try resolvedQuery(for: source)
        try source.forEachBatch(query: sql, rows: rows) { try body(try filter($0)) }
    }

    /// How many rows the request selects, when the source counts cheaply and no id filter
    /// applies (progress only; see `DataSource.count(query:)`).
    public func count() throws -> Int? {
        guard onlyIDs == nil && excludeIDs == nil else { return nil }
        let source = try DataSources.open(location, kinds: kinds)
        return try source.count(query: try resolvedQuery(for: source))
    }

    /// Reads every selected row into one table.
    public func read() throws -> DataTable {
        var table: DataTable?
        try forEachBatch(rows: .max) { batch in
            if table == nil { table = batch } else { table!.appendRows(of: batch) }
        }
        return table ?? DataTable()
    }

    /// Keeps the rows whose id passes the filters (input order kept).
    public func filter(_ table: DataTable) throws -> DataTable {
        guard onlyIDs != nil || excludeIDs != nil else { return table }
        guard let idColumn, let ids = table.column(named: idColumn) else {
            throw DataSourceError.failed(source: DatabaseURL.redact(location), message: "cannot filter by id: the data has no column \(idColumn ?? "(no id column given)")")
        }
        let keep = (0..<table.rowCount).filter { r in
            let id = ids.text(row: r)
            if let onlyIDs, !onlyIDs.contains(id) { return false }
            if let excludeIDs, excludeIDs.contains(id) { return false }
            return true
        }
        return keep.count == table.rowCount ? table : table.selecting(rows: keep)
    }
}
