import CreditDomain
import Foundation

/// Writes a table a batch at a time, so a streamed command (`credit score`) holds one batch,
/// never the whole output. Every batch has the same columns.
///
/// After a failure, `finish()` is still worth calling: it makes what it can of the appended
/// rows durable, and `rowsWritten` then says how many are (a resume point).
public protocol TableWriter: AnyObject {
    var description: String { get }
    func append(_ batch: DataTable) throws
    /// Ends the write: every appended row is flushed or committed.
    func finish() throws
    /// Rows durably written so far, counted from the first appended.
    var rowsWritten: Int { get }
}

/// A sink that writes a table batch by batch (CSV, SQLite); other sinks are written whole.
public protocol StreamingSink: DataSink {
    /// A writer that replaces what the destination held, like `write(_:)`.
    func makeWriter() throws -> any TableWriter
}

extension DataSources {
    /// A batch writer for `location`: streamed when the sink can (`StreamingSink`), else a
    /// writer that collects the batches and writes them whole at `finish()`.
    public static func writer(_ location: String) throws -> any TableWriter {
        let sink = try DataSources.sink(location)
        if let s = sink as? StreamingSink { return try s.makeWriter() }
        return CollectingWriter(sink: sink)
    }
}

/// The fallback for sinks without a streamed form: batches are kept and written at the end.
final class CollectingWriter: TableWriter {
    let sink: any DataSink
    private var table: DataTable?
    private(set) var rowsWritten = 0

    init(sink: any DataSink) { self.sink = sink }

    var description: String { sink.description }

    func append(_ batch: DataTable) throws {
        if table == nil { table = batch } else { table!.appendRows(of: batch) }
    }

    func finish() throws {
        guard let table else { return }
        try sink.write(table)
        rowsWritten = table.rowCount
    }
}

/// Upserts batches by key into a SQL table (created if missing), `batchRows` rows a
/// transaction: a rerun over the same rows neither loses nor duplicates any. `rowsWritten`
/// counts committed rows only, so after a dropped connection it is a safe resume point.
public final class SQLUpsertWriter<Connection: SQLStatementConnection>: TableWriter {
    let connection: Connection
    let table: String
    let key: String
    let batchRows: Int
    public let description: String
    private var created = false
    public private(set) var rowsWritten = 0

    public init(connection: Connection, table: String, key: String, batchRows: Int, description: String) {
        self.connection = connection
        self.table = table
        self.key = key
        self.batchRows = max(1, batchRows)
        self.description = description
    }

    public func append(_ batch: DataTable) throws {
        let d = connection.dialect
        if !created {
            try connection.execute(d.createTable(table, for: batch, key: key, ifNotExists: true))
            created = true
        }
        var start = 0
        while start < batch.rowCount {
            let end = min(start + batchRows, batch.rowCount)
            try SQLTableWrites.transaction(connection) {
                for sql in d.inserts(into: table, table: batch, rows: start..<end, key: key) { try connection.execute(sql) }
            }
            rowsWritten += end - start
            start = end
        }
    }

    public func finish() throws {}
}
