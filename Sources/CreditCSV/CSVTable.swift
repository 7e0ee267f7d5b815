import CreditDomain
import CSV
import Foundation

/// Reads a CSV file with a header row (RFC 4180 quoting, via yaslab/CSV.swift) as typed
/// `DataTable` batches: the one CSV reader of `credit` (`csv:PATH`) and of creditd's
/// `POST /v1/score/csv`, so both read a file the same way.
///
/// Empty fields, `NA` and `NULL` are missing. Kinds follow `ColumnKinds` and `TableBuilder`
/// (decided on the first batch). The file is streamed: read in chunks cut at record
/// boundaries (a newline outside quotes), each chunk's records parsed by CSV.swift, so memory
/// holds one chunk and one batch. (CSVReader's own InputStream path reports a spurious read
/// error at end of file on Linux Foundation, hence the chunks of text.)
public enum CSVTableReader {
    /// `description` names the file in errors (`csv:PATH`, "the uploaded CSV").
    public static func forEachBatch(path: String, description: String, kinds: ColumnKinds, rows: Int,
                                    chunkSize: Int = 1 << 20, _ body: (DataTable) throws -> Void) throws {
        precondition(rows > 0, "forEachBatch: rows must be > 0")
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

    /// The whole file as one table (kinds decided on every row).
    public static func read(path: String, description: String, kinds: ColumnKinds) throws -> DataTable {
        var table: DataTable?
        try forEachBatch(path: path, description: description, kinds: kinds, rows: .max) { table = $0 }
        return table ?? DataTable()
    }
}

/// Reads a CSV file as chunks of whole records: each chunk ends at a newline outside
/// quotes (quote parity; RFC 4180 escapes a quote by doubling it, which keeps the parity),
/// so no record is split between chunks. A leading UTF-8 byte order mark is dropped.
public struct CSVRecordChunks {
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

    public init(handle: FileHandle, chunkSize: Int = 1 << 20) {
        self.handle = handle
        self.chunkSize = chunkSize
    }

    /// The next chunk of complete records (nil at the end of the file).
    public mutating func next() throws -> [UInt8]? {
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

/// Writes tables as CSV bytes: a header row and one line per row; missing cells are empty,
/// numbers are written without a spurious ".0", fields with commas, quotes or line breaks
/// are quoted (quotes doubled, RFC 4180, as CSV.swift reads them back). Lines end with "\n".
/// The one CSV writer (`csv:PATH` sinks, creditd's scored CSV).
public enum CSVBytes {
    public static func appendHeader(_ names: [String], to buffer: inout [UInt8]) {
        for (i, name) in names.enumerated() {
            if i > 0 { buffer.append(0x2C) }
            field(name, &buffer)
        }
        buffer.append(0x0A)
    }

    public static func appendRow(_ table: DataTable, row: Int, to buffer: inout [UInt8]) {
        for (i, column) in table.columns.enumerated() {
            if i > 0 { buffer.append(0x2C) }
            field(column.text(row: row), &buffer)
        }
        buffer.append(0x0A)
    }

    @inline(__always)
    static func field(_ text: String, _ buffer: inout [UInt8]) {
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
}
