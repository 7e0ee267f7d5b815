import CreditCSV
import CreditDomain
import Foundation
import Testing
@testable import CreditData

/// Streaming sources: batches of any size concatenate to the table one read gives, and the
/// kind of an unforced column is decided on the first batch (documented on `DataSource`).
@Suite struct BatchTests {
    /// The batches of a source, and their concatenation.
    static func batches(_ source: any DataSource, query: String?, rows: Int) throws -> (sizes: [Int], table: DataTable) {
        var sizes: [Int] = []
        var table: DataTable?
        try source.forEachBatch(query: query, rows: rows) { batch in
            sizes.append(batch.rowCount)
            if table == nil { table = batch } else { table!.appendRows(of: batch) }
        }
        return (sizes, try #require(table))
    }

    /// A synthetic (dirty) book as SQLite and as CSV, and the example spec (its query).
    static let book: Result<(db: String, csv: String, spec: DatasetSpec), Error> = Result {
        let dir = try TestPaths.tempDir("batches")
        let db = dir.appendingPathComponent("book.db").path, csv = dir.appendingPathComponent("book.csv").path
        try SyntheticLoanBook.generate(rows: 600, seed: 5).write(to: "sqlite:\(db)")
        try SyntheticLoanBook.generate(rows: 600, seed: 5).write(to: "csv:\(csv)")
        return (db, csv, try DatasetSpec.load(from: TestPaths.exampleSpec))
    }

    /// Every column forced: the spec's id and features, and the target (the spec leaves the
    /// target's kind to the data; its first rows may be unlabelled).
    static func kinds(_ spec: DatasetSpec) -> ColumnKinds {
        var kinds = spec.forcedKinds
        kinds.forced[spec.target.column] = .numeric
        return kinds
    }

    @Test(arguments: [1, 7, 599, 10_000])
    func sqliteBatchesMatchOneRead(rows: Int) throws {
        let (db, _, spec) = try Self.book.get()
        let source = SQLiteSource(path: db, kinds: Self.kinds(spec))
        let whole = try source.read(query: spec.query)
        #expect(whole.rowCount == 599)
        let (sizes, table) = try Self.batches(source, query: spec.query, rows: rows)
        #expect(table == whole)
        #expect(sizes.allSatisfy { $0 <= rows } && sizes.dropLast().allSatisfy { $0 == rows })
        #expect(sizes.count == (599 + rows - 1) / rows)
    }

    @Test(arguments: [1, 7, 600, 10_000])
    func csvBatchesMatchOneRead(rows: Int) throws {
        let (_, csv, spec) = try Self.book.get()
        let source = CSVSource(path: csv, kinds: Self.kinds(spec))
        let whole = try source.read(query: nil)
        #expect(whole.rowCount == 599)
        let (sizes, table) = try Self.batches(source, query: nil, rows: rows)
        #expect(table == whole)
        #expect(sizes.reduce(0, +) == 599 && sizes.dropLast().allSatisfy { $0 == rows })
        // Tiny chunks cut the file inside quoted fields and lines: same table.
        var small = source
        small.chunkSize = 5
        #expect(try small.read(query: nil) == whole)
    }

    @Test func csvChunksEndAtRecordBoundaries() throws {
        let dir = try TestPaths.tempDir()
        let path = dir.appendingPathComponent("q.csv").path
        let text = "\u{FEFF}id,note\n1,\"a, \"\"quoted\"\"\nline\"\n2,plain\r\n3,\"\"\n4,last"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        for size in [1, 3, 8, 1000] {
            let handle = try #require(FileHandle(forReadingAtPath: path))
            var chunks = CSVRecordChunks(handle: handle, chunkSize: size)
            var got: [[UInt8]] = []
            while let c = try chunks.next() { got.append(c) }
            try handle.close()
            #expect(got.joined().elementsEqual(text.utf8.dropFirst(3)))   // everything but the byte order mark
            // Every chunk but the last ("4,last" has no newline) ends a record.
            #expect(got.dropLast().allSatisfy { $0.last == 0x0A }, "chunk size \(size)")
            if size == 1 { #expect(got.count == 5) }   // one chunk per record (the header too)
            var source = CSVSource(path: path, kinds: ColumnKinds(forced: ["id": .categorical]))
            source.chunkSize = size
            let t = try source.read(query: nil)
            #expect(t.column(named: "id")?.categoricalValues == ["1", "2", "3", "4"])
            #expect(t.column(named: "note")?.categoricalValues == ["a, \"quoted\"\nline", "plain", nil, "last"])
        }
    }

    @Test func emptyResultGivesItsColumnsOnce() throws {
        let (db, _, _) = try Self.book.get()
        let (sizes, table) = try Self.batches(SQLiteSource(path: db), query: "SELECT 1 AS a, 'x' AS b WHERE 0", rows: 5)
        #expect(sizes == [0] && table.columnNames == ["a", "b"])
        let dir = try TestPaths.tempDir()
        let header = dir.appendingPathComponent("h.csv").path
        try "a,b\n".write(toFile: header, atomically: true, encoding: .utf8)
        let (csvSizes, csvTable) = try Self.batches(CSVSource(path: header), query: nil, rows: 5)
        #expect(csvSizes == [0] && csvTable.columnNames == ["a", "b"])
    }

    /// Unforced columns: decided on the first batch and kept; a whole read decides on all rows.
    @Test func unforcedKindsAreDecidedOnTheFirstBatch() throws {
        let dir = try TestPaths.tempDir()
        let path = dir.appendingPathComponent("k.csv").path
        try "id,late,text\n1,,5\n2,3,6\n3,4,x\n".write(toFile: path, atomically: true, encoding: .utf8)
        let source = CSVSource(path: path, kinds: ColumnKinds(forced: ["id": .categorical]))
        let whole = try source.read(query: nil)
        #expect(whole.column(named: "late")?.numericValues == [nil, 3, 4])
        #expect(whole.column(named: "text")?.categoricalValues == ["5", "6", "x"])
        // One row a batch: "late" has no value in the first batch → categorical from then on.
        var late: [String?] = []
        #expect(throws: DataSourceError.kindDecided(row: 2, column: "text", value: "x")) {
            try source.forEachBatch(query: nil, rows: 1) { batch in
                late += batch.column(named: "late")?.categoricalValues ?? []
            }
        }
        #expect(late == [nil, "3"])
        // Forcing the kinds (as a spec does) makes every batch size agree with one read.
        let forced = CSVSource(path: path, kinds: ColumnKinds(forced: ["id": .categorical, "late": .numeric, "text": .categorical]))
        #expect(try Self.batches(forced, query: nil, rows: 1).table == (try forced.read(query: nil)))
        #expect(DataSourceError.kindDecided(row: 2, column: "text", value: "x").description.contains("first batch"))
    }

    /// Streamed scoring's kinds: a `numericOrText` column is numbers in a batch of numbers and
    /// text (its numbers written back exactly) in a batch holding a word; with
    /// `decideEachBatch` other columns are decided per batch. Neither fails the read.
    @Test func scoringKindsNeverFailARead() throws {
        let dir = try TestPaths.tempDir()
        let path = dir.appendingPathComponent("s.csv").path
        try "id,income,other\n1,10.50,5\n2,,6\n3,lots,x\n4,0.1,7\n".write(toFile: path, atomically: true, encoding: .utf8)
        let kinds = ColumnKinds(forced: ["id": .categorical], numericOrText: ["income"], decideEachBatch: true)
        let source = CSVSource(path: path, kinds: kinds)
        var income: [Column] = [], other: [Column] = []
        try source.forEachBatch(query: nil, rows: 2) { batch in
            income.append(try #require(batch.column(named: "income")))
            other.append(try #require(batch.column(named: "other")))
        }
        #expect(income.map(\.kind) == [.numeric, .categorical])
        #expect(income[0].numericValues == [10.5, nil])
        #expect(income[1].categoricalValues == ["lots", "0.1"])
        #expect(other.map(\.kind) == [.numeric, .categorical])
        // A word in the second row of a batch: the first row's number comes back as its text.
        let late = dir.appendingPathComponent("l.csv").path
        try "id,income\n1,2.25\n2,n/a\n".write(toFile: late, atomically: true, encoding: .utf8)
        let t = try CSVSource(path: late, kinds: kinds).read(query: nil)
        #expect(t.column(named: "income")?.categoricalValues == ["2.25", "n/a"])
    }
}
