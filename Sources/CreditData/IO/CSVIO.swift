import CreditDomain
import CreditCSV
import Foundation

/// `csv:PATH`: a CSV file with a header row, read by CreditCSV's `CSVTableReader` (the one CSV
/// reader, shared with creditd's CSV upload: RFC 4180 quoting via CSV.swift, streamed in
/// chunks cut at record boundaries; empty fields, `NA` and `NULL` are missing; kinds follow
/// `ColumnKinds` and `TableBuilder`).
public struct CSVSource: DataSource {
    public var path: String
    public var kinds: ColumnKinds
    /// Bytes read at a time (tests use tiny chunks to cut records everywhere).
    var chunkSize = 1 << 20

    public init(path: String, kinds: ColumnKinds = ColumnKinds()) {
        self.path = path
        self.kinds = kinds
    }

    public var description: String { "csv:\(path)" }
    public var acceptsQuery: Bool { false }

    public func forEachBatch(query: String?, rows: Int, _ body: (DataTable) throws -> Void) throws {
        if let query, !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw DataSourceError.queryNotSupported(source: description)
        }
        try CSVTableReader.forEachBatch(path: path, description: description, kinds: kinds, rows: rows,
                                        chunkSize: chunkSize, body)
    }
}

/// `csv:PATH`: writes a header row and one line per row; missing cells are empty, numbers
/// are written without a spurious ".0", fields with commas, quotes or line breaks are quoted
/// (quotes doubled, RFC 4180, as CSV.swift reads them back). Lines end with "\n".
///
/// The bytes are built in a 1 MiB buffer and written a buffer at a time: CSV.swift's writer
/// calls `write()` once per byte (5.2 million system calls for the 34,485-row book's scores).
/// `makeWriter()` writes batch by batch (streamed `credit score`).
public struct CSVSink: StreamingSink {
    public var path: String

    public init(path: String) {
        self.path = path
    }

    public var description: String { "csv:\(path)" }

    public func write(_ table: DataTable) throws {
        let w = try CSVWriter(path: path)
        try w.append(table)
        try w.finish()
    }

    public func makeWriter() throws -> any TableWriter { try CSVWriter(path: path) }
}

/// The CSV sink's batch writer: the header with the first batch, then rows through a 1 MiB
/// buffer. `rowsWritten` counts the rows handed to the file.
final class CSVWriter: TableWriter {
    let path: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var headerDone = false
    private var buffered = 0
    private(set) var rowsWritten = 0

    init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw DataSourceError.failed(source: "csv:\(path)", message: "cannot open for writing")
        }
        self.handle = handle
        buffer.reserveCapacity(1 << 20)
    }

    deinit { try? handle.close() }

    var description: String { "csv:\(path)" }

    private func flush() throws {
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            throw DataSourceError.failed(source: description, message: "\(error)")
        }
        buffer.removeAll(keepingCapacity: true)
        rowsWritten += buffered
        buffered = 0
    }

    func append(_ table: DataTable) throws {
        if !headerDone {
            CSVBytes.appendHeader(table.columnNames, to: &buffer)
            headerDone = true
        }
        for row in 0..<table.rowCount {
            CSVBytes.appendRow(table, row: row, to: &buffer)
            buffered += 1
            if buffer.count >= 1 << 20 { try flush() }
        }
    }

    func finish() throws {
        try flush()
    }
}
