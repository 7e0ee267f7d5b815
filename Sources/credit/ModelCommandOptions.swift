import ArgumentParser
import CreditData
import CreditDomain
import CreditModels
import Foundation

/// `--data SOURCE [--query SQL|@file.sql]`: where rows come from (train, evaluate, score, profile).
struct InputDataOptions: ParsableArguments {
    @Option(name: .long, help: "Data source: sqlite:PATH, csv:PATH, postgres://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB.")
    var data: String

    @Option(name: .long, help: "SQL query, or @file.sql, for SQL sources (default: the spec's query/query_file). Not for CSV.")
    var query: String?

    @Option(name: .customLong("password-file"), help: "Database password: the file's first line (else the URL's, PGPASSWORD/~/.pgpass, MYSQL_PWD).")
    var passwordFile: String?

    /// The rows to read, resolved the one way every command reads (`DataRequest`): the data
    /// location, `--query` ("SQL" or @file), else `defaultQuery` (the spec's) for sources that
    /// take a query, and the id filters when given. `kinds` forces column kinds (training:
    /// the spec's; scoring: only the id, so a bad value becomes a row error instead of failing
    /// the whole read).
    func request(defaultQuery: String?, kinds: ColumnKinds, ids: IDFilterOptions? = nil, idColumn: String? = nil) throws -> DataRequest {
        if let passwordFile { DatabaseCredentials.passwordFile = passwordFile }
        return try inputRequest(data: data, query: query, defaultQuery: defaultQuery, kinds: kinds,
                         idColumn: idColumn, onlyIDs: ids?.onlyIDs, excludeIDs: ids?.excludeIDs)
    }
}

/// The `DataRequest` of `--data`, `--query`, the spec's default query and the id-list files
/// (`--only-ids`, `--exclude-ids`); every command that reads rows goes through here.
func inputRequest(data: String, query: String?, defaultQuery: String?, kinds: ColumnKinds,
                  idColumn: String?, onlyIDs: String?, excludeIDs: String?) throws -> DataRequest {
    DataRequest(location: data, query: query, defaultQuery: defaultQuery, kinds: kinds, idColumn: idColumn,
                onlyIDs: try onlyIDs.map(readIDList), excludeIDs: try excludeIDs.map(readIDList))
}

/// `--seed N` (shared by commands with randomness).
struct SeedOptions: ParsableArguments {
    @Option(name: .long, help: "Random seed (same seed, same data → same model, byte for byte).")
    var seed: UInt64 = 42
}

/// `--exclude-ids FILE`, `--only-ids FILE`: one id a line.
struct IDFilterOptions: ParsableArguments {
    @Option(name: .customLong("exclude-ids"), help: "File of ids (one a line) whose rows are left out.")
    var excludeIDs: String?

    @Option(name: .customLong("only-ids"), help: "File of ids (one a line): keep only these rows.")
    var onlyIDs: String?
}

struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}

/// Reads an id list: one id a line, surrounding spaces ignored, empty lines skipped.
func readIDList(_ path: String) throws -> Set<String> {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw CommandFailure(description: "cannot read id list \(path)")
    }
    return Set(text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
}

/// Writes a JSON value to a file (pretty, sorted keys, NaN as "nan").
func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    var data = try CreditJSON.encoder(pretty: true).encode(value)
    data.append(10)
    try data.write(to: URL(fileURLWithPath: path), options: .atomic)
}

/// Messages to stderr; training progress is redrawn in place on a terminal, plain
/// throttled log lines otherwise.
final class ConsoleProgress: @unchecked Sendable {
    let isTTY = isatty(STDERR_FILENO) == 1
    private let lock = NSLock()
    private var last = Date.distantPast
    private var drawing = false
    private var pending: String?
    private var current = ""

    func log(_ message: String) {
        lock.lock(); defer { lock.unlock() }
        if drawing { FileHandle.standardError.write(Data("\n".utf8)); drawing = false }
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    func update(_ algorithm: String, _ p: TrainingProgress) {
        lock.lock(); defer { lock.unlock() }
        if algorithm != current {   // a new learner: show the previous one's last step
            if drawing { FileHandle.standardError.write(Data("\n".utf8)); drawing = false }
            if let line = pending { FileHandle.standardError.write(Data((line + "\n").utf8)); pending = nil }
            current = algorithm
        }
        var line = "[\(algorithm)] iteration \(p.iteration)"
        if let t = p.trainLoss { line += String(format: "  train loss %.5f", t) }
        if let v = p.validationLoss { line += String(format: "  validation loss %.5f", v) }
        if let m = p.message { line += "  \(m)" }
        if isTTY {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            drawing = true
        } else if Date().timeIntervalSince(last) >= 1 || p.iteration == 0 {
            FileHandle.standardError.write(Data((line + "\n").utf8))
            last = Date()
            pending = nil
        } else {
            pending = line
        }
    }

    /// Ends a progress display: the last step is always shown.
    func finish() {
        lock.lock(); defer { lock.unlock() }
        if drawing { FileHandle.standardError.write(Data("\n".utf8)); drawing = false }
        if let line = pending { FileHandle.standardError.write(Data((line + "\n").utf8)); pending = nil }
    }
}

func format(_ x: Double, _ digits: Int = 4) -> String { x.isNaN ? "nan" : String(format: "%.\(digits)f", x) }
