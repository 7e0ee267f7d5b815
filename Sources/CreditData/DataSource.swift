import CreditDomain
import Foundation

/// Where a loan book lives. Each source yields a typed `DataTable`.
///
/// Sources are named by URL-like strings on the command line (`sqlite:PATH`, `csv:PATH`;
/// `postgres://...` and `mysql://...` servers slot in behind the same protocol later).
public protocol DataSource {
    /// A short description for messages and reports (never contains secrets).
    var description: String { get }
    /// Reads the rows the query selects. File sources without a query language (CSV)
    /// reject a non-nil query with `DataSourceError.queryNotSupported`.
    func read(query: String?) throws -> DataTable
}
