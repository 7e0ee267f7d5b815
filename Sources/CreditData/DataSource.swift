import CreditDomain
import Foundation

/// Where a loan book lives. A source streams the rows a query selects as typed `DataTable`
/// batches; `read(query:)` collects them into one table.
///
/// Sources are named by URL-like strings on the command line (`sqlite:PATH`, `csv:PATH`;
/// `postgres://...` and `mysql://...` servers register the same way and read through
/// server-side cursors the way `SQLiteSource` reads through a GRDB cursor).
///
/// **Kinds across batches.** A column whose kind is forced (`ColumnKinds`, e.g. a spec's
/// `forcedKinds`) has that kind in every batch. An unforced column's kind is decided on the
/// **first batch** (numeric when every non-missing value in it is a number and there is at
/// least one, else categorical) and kept for the later ones: numbers in a column decided
/// categorical become text, and a text that is not a number in a column decided numeric
/// fails the read (`DataSourceError.kindDecided`). `read(query:)` streams one batch holding
/// every row, so its kinds are decided on the whole result, exactly as before streaming.
/// Batches therefore concatenate to `read(query:)`'s table whenever every column is forced
/// or the first batch is representative.
public protocol DataSource {
    /// A short description for messages and reports (never contains secrets).
    var description: String { get }
    /// Whether the source takes a query (SQL sources). A source without a query language
    /// (CSV) rejects a non-empty query with `DataSourceError.queryNotSupported`, and the
    /// spec's default query is not offered to it.
    var acceptsQuery: Bool { get }
    /// Streams the rows the query selects, in order, as tables of at most `rows` rows (the
    /// last may be shorter). Every batch has every column, in the result's order; a result
    /// without rows gives one empty batch (so the columns are known). `body` may throw to stop.
    func forEachBatch(query: String?, rows: Int, _ body: (DataTable) throws -> Void) throws
    /// How many rows the query selects, when the source can ask cheaply (SQL:
    /// `SELECT COUNT(*) FROM (query)` on its own connection); nil otherwise. For progress only.
    func count(query: String?) throws -> Int?
}

extension DataSource {
    public var acceptsQuery: Bool { true }
    public func count(query: String?) throws -> Int? { nil }

    /// `SELECT COUNT(*) FROM (query) AS credit_count`, the query without its terminator.
    public static func countSQL(_ query: String?) -> String? {
        guard var sql = query?.trimmingCharacters(in: .whitespacesAndNewlines), !sql.isEmpty else { return nil }
        while sql.hasSuffix(";") { sql = String(sql.dropLast()).trimmingCharacters(in: .whitespacesAndNewlines) }
        return "SELECT COUNT(*) FROM (\(sql)) AS credit_count"
    }

    /// Reads every row the query selects into one table (one batch of all rows: no second copy).
    public func read(query: String?) throws -> DataTable {
        var table: DataTable?
        try forEachBatch(query: query, rows: .max) { batch in
            // The built-in sources give one batch here; a source that cannot is concatenated.
            if table == nil { table = batch } else { table!.appendRows(of: batch) }
        }
        return table ?? DataTable()
    }
}
