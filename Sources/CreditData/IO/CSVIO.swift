import CreditDomain
import CSV
import Foundation

/// `csv:PATH`: a CSV file with a header row (RFC 4180 quoting, via yaslab/CSV.swift).
///
/// Empty fields, `NA` and `NULL` are missing. Kinds follow `ColumnKinds`.
public struct CSVSource: DataSource {
    public var path: String
    public var kinds: ColumnKinds

    public init(path: String, kinds: ColumnKinds = ColumnKinds()) {
        self.path = path
        self.kinds = kinds
    }

    public var description: String { "csv:\(path)" }

    public func read(query: String?) throws -> DataTable {
        if let query, !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw DataSourceError.queryNotSupported(source: description)
        }
        // The whole file is read as one string: CSVReader's InputStream path reports a
        // spurious read error at end of file on Linux Foundation.
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FileManager.default.fileExists(atPath: path)
                ? DataSourceError.failed(source: description, message: "cannot read the file as UTF-8")
                : DataSourceError.fileNotFound(path)
        }
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: true)
        } catch {
            throw DataSourceError.failed(source: description, message: "cannot read the header row: \(error)")
        }
        guard let header = reader.headerRow, !header.isEmpty else {
            throw DataSourceError.failed(source: description, message: "the file has no header row")
        }
        var builders = header.map { ColumnBuilder(name: $0) }
        var row = 0
        while let fields = reader.next() {
            if fields.count == 1 && fields[0].isEmpty { continue } // blank line
            guard fields.count == header.count else {
                throw DataSourceError.malformed(source: description, row: row,
                                                message: "\(fields.count) fields; the header has \(header.count)")
            }
            for i in 0..<fields.count { builders[i].append(text: fields[i]) }
            row += 1
        }
        if let error = reader.error {
            throw DataSourceError.malformed(source: description, row: row, message: "\(error)")
        }
        var seen = Set<String>()
        var table = DataTable()
        for b in builders {
            guard seen.insert(b.name).inserted else {
                throw DataSourceError.failed(source: description, message: "column '\(b.name)' appears twice in the header")
            }
            table.append(try b.build(forced: kinds.forced[b.name]))
        }
        return table
    }
}

/// `csv:PATH`: writes a header row and one line per row; missing cells are empty, numbers
/// are written without a spurious ".0", fields with commas, quotes or newlines are quoted.
public struct CSVSink: DataSink {
    public var path: String

    public init(path: String) {
        self.path = path
    }

    public var description: String { "csv:\(path)" }

    public func write(_ table: DataTable) throws {
        guard let stream = OutputStream(toFileAtPath: path, append: false) else {
            throw DataSourceError.failed(source: description, message: "cannot open for writing")
        }
        do {
            let writer = try CSVWriter(stream: stream)
            try writer.write(row: table.columnNames)
            for row in 0..<table.rowCount {
                writer.beginNewRow()
                for column in table.columns {
                    try writer.write(field: column.text(row: row))
                }
            }
            writer.stream.close()
            // CSVWriter omits the final newline; POSIX text files end with one.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data([0x0A]))
            try handle.close()
        } catch let e as DataSourceError {
            throw e
        } catch {
            throw DataSourceError.failed(source: description, message: "\(error)")
        }
    }
}
