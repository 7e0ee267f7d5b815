import CreditDomain
import CSV
import Foundation

/// `csv:PATH`: a CSV file with a header row (RFC 4180 quoting, via yaslab/CSV.swift).
///
/// Empty fields, `NA` and `NULL` are missing. Kinds follow `ColumnKinds` (and `DataSource`
/// across batches). The file is streamed: read in 1 MiB chunks cut at record boundaries
/// (a newline outside quotes), each chunk's records parsed by CSV.swift, so memory holds one
/// chunk and one batch. (CSVReader's own InputStream path reports a spurious read error at
/// end of file on Linux Foundation, hence the chunks of text.)
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
        precondition(rows > 0, "forEachBatch: rows must be > 0")
        if let query, !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw DataSourceError.queryNotSupported(source: description)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FileManager.default.fileExists(atPath: path)
                ? DataSourceError.failed(source: description, message: "cannot open the file")
                : DataSourceError.fileNotFound(path)
        }
        defer { try? handle.close() }
        var chunks = CSVRecordChunks(handle: handle, chunkSize: chunkSize)
        var builder: TableBuilder! = nil
        var width = 0
        var row = 0
        while let bytes = try chunks.next() {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw DataSourceError.failed(source: description, message: "cannot read the file as UTF-8")
            }
            let reader: CSVReader
            do {
                reader = try CSVReader(string: text, hasHeaderRow: builder == nil)
            } catch {
                throw DataSourceError.failed(source: description, message: "cannot read the header row: \(error)")
            }
            if builder == nil {
                guard let header = reader.headerRow, !header.isEmpty else {
                    throw DataSourceError.failed(source: description, message: "the file has no header row")
                }
                builder = try TableBuilder(source: description, names: header, kinds: kinds,
                                           duplicate: { "column '\($0)' appears twice in the header" })
                width = header.count
            }
            while let fields = reader.next() {
                if fields.count == 1 && fields[0].isEmpty { continue } // blank line
                guard fields.count == width else {
                    throw DataSourceError.malformed(source: description, row: row,
                                                    message: "\(fields.count) fields; the header has \(width)")
                }
                for i in 0..<width { builder.append(text: fields[i], column: i) }
                builder.endRow()
                row += 1
                if builder.rowCount == rows { try body(builder.flush()) }
            }
            if let error = reader.error {
                throw DataSourceError.malformed(source: description, row: row, message: "\(error)")
            }
        }
        guard builder != nil else {
            throw DataSourceError.failed(source: description, message: "the file has no header row")
        }
        // The last (or only) batch; a file without rows still gives its columns once.
        if builder.rowCount > 0 || builder.flushed == 0 { try body(builder.flush()) }
    }
}

/// Reads a CSV file as chunks of whole records: each chunk ends at a newline outside
/// quotes (quote parity; RFC 4180 escapes a quote by doubling it, which keeps the parity),
/// so no record is split between chunks. A leading UTF-8 byte order mark is dropped.
struct CSVRecordChunks {
    let handle: FileHandle
    let chunkSize: Int
    private var pending: [UInt8] = []
    /// Bytes of `pending` already scanned, the quote state after them, and the end of the
    /// last complete record (index after its newline) among them.
    private var scanned = 0
    private var inQuotes = false
    private var recordEnd = 0
    private var atStart = true
    private var eof = false

    init(handle: FileHandle, chunkSize: Int = 1 << 20) {
        self.handle = handle
        self.chunkSize = chunkSize
    }

    /// The next chunk of complete records (nil at the end of the file).
    mutating func next() throws -> [UInt8]? {
        while true {
            if recordEnd > 0 {
                let out = Array(pending[..<recordEnd])
                pending.removeFirst(recordEnd)
                scanned -= recordEnd
                recordEnd = 0
                return out
            }
            if eof {
                guard !pending.isEmpty else { return nil }
                defer { pending = []; scanned = 0 }
                return pending
            }
            // The first read takes at least the three bytes of a byte order mark.
            let data = try handle.read(upToCount: atStart ? max(chunkSize, 3) : chunkSize) ?? Data()
            if data.isEmpty { eof = true; continue }
            pending.append(contentsOf: data)
            if atStart {
                atStart = false
                if pending.starts(with: [0xEF, 0xBB, 0xBF]) { pending.removeFirst(3) }
            }
            pending.withUnsafeBufferPointer { p in
                for i in scanned..<p.count {
                    let b = p[i]
                    if b == 0x22 { inQuotes.toggle() } else if b == 0x0A && !inQuotes { recordEnd = i + 1 }
                }
            }
            scanned = pending.count
        }
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

    @inline(__always) private func field(_ text: String) {
        let bytes = text.utf8
        if bytes.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
            buffer.append(0x22)
            for b in bytes {
                if b == 0x22 { buffer.append(0x22) }
                buffer.append(b)
            }
            buffer.append(0x22)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    func append(_ table: DataTable) throws {
        if !headerDone {
            for (i, name) in table.columnNames.enumerated() {
                if i > 0 { buffer.append(0x2C) }
                field(name)
            }
            buffer.append(0x0A)
            headerDone = true
        }
        for row in 0..<table.rowCount {
            for (i, column) in table.columns.enumerated() {
                if i > 0 { buffer.append(0x2C) }
                field(column.text(row: row))
            }
            buffer.append(0x0A)
            buffered += 1
            if buffer.count >= 1 << 20 { try flush() }
        }
    }

    func finish() throws {
        try flush()
    }
}
