import CreditDomain
import CreditTestSupport
import Foundation
import Testing

/// `credit score` streams (docs/data.md, "Streaming score"): the batch size never changes the
/// output, `--start-row` skips exactly the rows it names, a bad cell in a late batch is that
/// row's error (not a failed read), and a terminal gets a progress line with an ETA.
@Suite(.serialized) struct StreamingScoreTests {
    struct Fixture {
        let dir: String
        let db: String
        let model: String
        let csv: String
    }

    nonisolated(unsafe) static var shared: Fixture?
    static let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/alura-cash/spec.json").path

    /// A 20,000-loan synthetic book (19,999 joined rows) as SQLite and CSV, and a logistic model.
    static func fixture() throws -> Fixture {
        if let f = shared { return f }
        let dir = temporaryPath("stream")
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let f = Fixture(dir: dir, db: "\(dir)/book.db", model: "\(dir)/m.credit", csv: "\(dir)/book.csv")
        for out in ["sqlite:\(f.db)", "csv:\(f.csv)"] {
            let s = try CLITests.credit(["synth", "--rows", "20000", "--seed", "9", "--out", out])
            try #require(s.status == 0, "\(s.stderr)")
        }
        let t = try CLITests.credit(["train", "--data", "sqlite:\(f.db)", "--spec", spec, "--algorithm", "logistic",
                                     "--out", f.model, "--seed", "4"])
        try #require(t.status == 0, "\(t.stderr)")
        shared = f
        return f
    }

    func score(_ args: [String]) throws -> CLITests.Run {
        let f = try Self.fixture()
        return try CLITests.credit(["score", "--model", f.model] + args)
    }

    func lines(_ path: String) throws -> [Substring] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
    }

    @Test func batchSizeAndStartRowKeepTheOutput() throws {
        let f = try Self.fixture()
        let whole = try score(["--data", "sqlite:\(f.db)", "--out", "csv:\(f.dir)/whole.csv", "--batch-size", "1000000"])
        #expect(whole.status == 0, "\(whole.stderr)")
        #expect(whole.stderr.contains("scored ") && whole.stderr.contains(" of 19999 rows") && !whole.stderr.contains("\r"))
        let small = try score(["--data", "sqlite:\(f.db)", "--out", "csv:\(f.dir)/small.csv", "--batch-size", "7"])
        #expect(small.status == 0, "\(small.stderr)")
        let a = try lines("\(f.dir)/whole.csv"), b = try lines("\(f.dir)/small.csv")
        #expect(a.count == 19_999 + 2)   // header, rows, final newline
        #expect(a == b)
        // Resume at row 12,345 (not a batch boundary): exactly the rest, same bytes.
        let rest = try score(["--data", "sqlite:\(f.db)", "--out", "csv:\(f.dir)/rest.csv", "--batch-size", "1000", "--start-row", "12345"])
        #expect(rest.status == 0, "\(rest.stderr)")
        let c = try lines("\(f.dir)/rest.csv")
        #expect(c.first == a.first && Array(c.dropFirst()) == Array(a.dropFirst(12_346)))
        // The SQLite sink, streamed in one transaction: the same rows.
        let q = try score(["--data", "sqlite:\(f.db)", "--out", "sqlite:\(f.dir)/out.db#scores", "--batch-size", "333"])
        #expect(q.status == 0, "\(q.stderr)")
        // (read back with the sqlite3 shell)
        let shell = try run("/usr/bin/env", ["sqlite3", "\(f.dir)/out.db",
                                             "SELECT CASE WHEN probability IS NULL THEN 'NULL' ELSE printf('%.17g', probability) END FROM scores ORDER BY rowid"])
        #expect(shell.status == 0, "\(shell.stderr)")
        let back = shell.stdout.split(separator: "\n")
        #expect(back.count == 19_999)
        let probs: [Double?] = a.dropFirst().dropLast().map { Double(CLITests.fields($0)[1]) }
        let stored: [Double?] = back.map { Double(String($0)) }
        // (the shell prints ~16 significant digits: equal to 1e-15, missing where missing)
        var differ: [(Double?, Double?)] = []
        for (x, y) in zip(stored, probs) {
            if let x, let y { if abs(x - y) > 1e-15 { differ.append((x, y)) } } else if (x == nil) != (y == nil) { differ.append((x, y)) }
        }
        #expect(back.count == probs.count && differ.isEmpty, "\(differ.count) rows differ, e.g. \(differ.prefix(2))")
    }

    @Test func aBadCellInALateBatchIsThatRowsError() throws {
        let f = try Self.fixture()
        // Row 15,000 of the CSV gets a word for an income: the first batches decided the column numeric.
        var rows = try lines(f.csv).map(String.init)
        let header = CLITests.fields(Substring(rows[0]))
        let income = try #require(header.firstIndex(of: "person_income"))
        var cells = rows[15_001].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        try #require(cells.count == header.count)
        cells[income] = "lots"
        rows[15_001] = cells.joined(separator: ",")
        let bad = "\(f.dir)/bad.csv"
        try rows.joined(separator: "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let streamed = try score(["--data", "csv:\(bad)", "--out", "csv:\(f.dir)/bad-small.csv", "--batch-size", "100"])
        #expect(streamed.status == 0, "\(streamed.stderr)")
        let oneBatch = try score(["--data", "csv:\(bad)", "--out", "csv:\(f.dir)/bad-whole.csv", "--batch-size", "1000000"])
        #expect(oneBatch.status == 0, "\(oneBatch.stderr)")
        let a = try lines("\(f.dir)/bad-small.csv"), b = try lines("\(f.dir)/bad-whole.csv")
        #expect(a == b)
        let row = CLITests.fields(a[15_001])
        let error = try #require(CLITests.fields(a[0]).firstIndex(of: "error"))
        #expect(row[2] == "error" && row[error].contains("person_income") && row[error].contains("lots"), "\(row)")
        #expect(a.filter { $0.contains(",error,") }.count < 300)   // the other rows are scored as usual
    }

    @Test func progressLineOnATerminal() throws {
        let f = try Self.fixture()
        // util-linux `script` gives the command a pseudo-terminal; its output is what the terminal saw.
        let command = [CLITests.creditBinary.path, "score", "--model", f.model, "--data", "sqlite:\(f.db)",
                       "--out", "csv:\(f.dir)/tty.csv", "--batch-size", "50"].map { "'\($0)'" }.joined(separator: " ")
        let terminal = try run("/usr/bin/script", ["-qec", command, "/dev/null"])
        let text = terminal.stdout
        #expect(terminal.status == 0, "\(text)")
        // Redrawn in place ("\r", erase line), with the total from COUNT(*), a rate and an ETA.
        #expect(text.contains("\r\u{1B}[K"), "\(text)")
        #expect(text.contains("/19999 rows") && text.contains(" rows/s  ETA "), "\(text)")
        #expect(text.contains("scored ") && text.contains(" of 19999 rows"), "\(text)")
    }
}
