import CreditDomain
import ArgumentParser
import CreditClient
import CreditData
import CreditDomain
import CreditWire
import Foundation

/// `credit score --connect ADDRESS ...`: the batch scorer through a creditd daemon.
struct ConnectOptions: ParsableArguments {
    @Option(help: "Score through a creditd daemon at unix:PATH or tcp:HOST:PORT instead of --model.")
    var connect: String?

    @Option(name: .customLong("batch-size"), help: "Applicants per Score request.")
    var batchSize = 1000

    @Option(name: .customLong("in-flight"), help: "Score requests in flight at once.")
    var inFlight = 4

    @Option(help: "Connections to the daemon.")
    var connections = 2

    @Option(help: "Dataset spec (JSON): its id column and, for SQL sources, its default query. Default: the daemon's model says both (ModelInfo).")
    var spec: String?

    @Option(name: .customLong("id-column"), help: "Id column of the input (default: the spec's id, else the model's).")
    var idColumn: String?

    @Option(name: .customLong("start-row"), help: "Skip the first N input rows (resume a stopped run).")
    var startRow = 0

    @Option(name: .customLong("reconnect-seconds"), help: "How long to keep trying to reach a daemon that went away.")
    var reconnectSeconds = 30.0

    @Option(name: .customLong("timeout"), help: "Deadline per batch, seconds.")
    var timeout = 60.0
}

/// Streams the input to the daemon in batches, several in flight, and writes one output row
/// per input row in input order (same table as the in-process `credit score --model`).
///
/// Rows are checked before sending: a missing id or a non-numeric text in a numeric field
/// becomes an error row here (the wire carries numbers as doubles); the daemon reports the
/// rest (unknown categories, out-of-range values, ±inf) as per-row errors. Lost connections
/// are retried (scoring is idempotent, and results are placed by row index, so a retried
/// batch can never duplicate a row). If the daemon stays away past `--reconnect-seconds`, the
/// rows finished in order so far are written and the message says where to resume.
struct ConnectedScorer: Sendable {
    let address: String
    let batchSize: Int
    let inFlight: Int
    let connections: Int
    let specPath: String?
    let idColumnOption: String?
    let startRow: Int
    let reconnect: Double
    let timeout: Double
    let data: String
    let query: String?
    let onlyIDs: String?
    let excludeIDs: String?
    let out: String

    init(options o: ConnectOptions, input: InputDataOptions, ids: IDFilterOptions, out: String) {
        address = o.connect ?? ""
        batchSize = o.batchSize
        inFlight = o.inFlight
        connections = o.connections
        specPath = o.spec
        idColumnOption = o.idColumn
        startRow = o.startRow
        reconnect = o.reconnectSeconds
        timeout = o.timeout
        data = input.data
        if let f = input.passwordFile { DatabaseCredentials.passwordFile = f }
        query = input.query
        onlyIDs = ids.onlyIDs
        excludeIDs = ids.excludeIDs
        self.out = out
    }

    func runBlocking() throws {
        final class Box: @unchecked Sendable { var error: (any Error)? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { try await self.run() } catch { box.error = error }
            done.signal()
        }
        done.wait()
        if let e = box.error { throw e }
    }

    func run() async throws {
        guard batchSize >= 1, inFlight >= 1, connections >= 1, startRow >= 0 else {
            throw CommandFailure(description: "--batch-size, --in-flight and --connections must be ≥ 1, --start-row ≥ 0")
        }
        let spec = try specPath.map { try DatasetSpec.load(from: $0) }
        var options = DaemonClient.Options()
        options.connections = connections
        options.reconnectWindow = .milliseconds(Int64(reconnect * 1000))
        options.retries = 5
        let client = try DaemonClient(address, options: options)
        defer { client.close() }
        let info = try await client.modelInfo(timeout: .seconds(reconnect + 5))
        // The model carries its training spec's id column and default query, so --spec is
        // needed only to override them.
        let idColumn = idColumnOption ?? spec?.id ?? (info.idField.isEmpty ? "loan_id" : info.idField)
        let defaultQuery = spec?.query ?? (info.query.isEmpty ? nil : info.query)

        let table = try inputRequest(data: data, query: query, defaultQuery: defaultQuery,
                                     kinds: ColumnKinds(forced: [idColumn: .categorical]),
                                     idColumn: idColumn, onlyIDs: onlyIDs, excludeIDs: excludeIDs).read()
        guard let idCol = table.column(named: idColumn) else {
            throw CommandFailure(description: "the input has no id column '\(idColumn)' (set --id-column or --spec)")
        }
        let total = table.rowCount
        let first = min(startRow, total)
        let ids: [String?] = (first..<total).map { idCol.isMissing(row: $0) ? nil : idCol.text(row: $0) }
        let plan = BatchPlan(info: info, table: table)

        var results = [ScoreRow?](repeating: nil, count: total - first)
        let batches = stride(from: first, to: total, by: batchSize).map { $0..<min($0 + batchSize, total) }
        let progress = ScoreProgress(total: total - first)
        let started = ContinuousClock.now
        var doneBatches = [Bool](repeating: false, count: batches.count)
        var failure: (batch: Int, error: DaemonError)?

        await withTaskGroup(of: (Int, Result<[(Int, ScoreRow)], DaemonError>).self) { group in
            var nextBatch = 0
            func submit() {
                let b = nextBatch
                let range = batches[b]
                nextBatch += 1
                group.addTask {
                    let (batch, rows, local) = plan.build(rows: range, ids: ids, offset: first)
                    var out = local
                    if !rows.isEmpty {
                        do throws(DaemonError) {
                            let r = try await client.score(batch, timeout: .milliseconds(Int64(timeout * 1000)))
                            out += plan.decode(r, rows: rows)
                        } catch {
                            if case .status(let code, let message) = error, code != .unavailable, code != .deadlineExceeded {
                                // The daemon rejected the whole batch (e.g. a field of the wrong kind).
                                out += rows.map { ($0, ScoreRow.error("batch rejected by the daemon: \(code): \(message)")) }
                            } else {
                                return (b, .failure(error))
                            }
                        }
                    }
                    return (b, .success(out))
                }
            }
            while nextBatch < min(inFlight, batches.count) { submit() }
            while let (b, result) = await group.next() {
                switch result {
                case .success(let rows):
                    for (r, row) in rows { results[r - first] = row }
                    doneBatches[b] = true
                    progress.advance(batches[b].count)
                    if failure == nil && nextBatch < batches.count { submit() }
                case .failure(let e):
                    if failure == nil || b < failure!.batch { failure = (b, e) }
                }
            }
        }
        progress.finish()
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18

        if let failure {
            // Write the finished prefix (every batch before the first unfinished one).
            let k = doneBatches.firstIndex(of: false) ?? batches.count
            let resume = k < batches.count ? batches[k].lowerBound : total
            let n = resume - first
            try writeScores(to: out, idColumn: idColumn, ids: Array(ids[0..<n]), rows: results[0..<n].map { $0! },
                            threshold: info.threshold, modelID: info.modelId)
            throw CommandFailure(description: "stopped: \(failure.error). Rows \(first)..<\(resume) were scored and written to \(DatabaseURL.redact(out)); "
                + "resume with --start-row \(resume) (and another --out)")
        }
        let rows = results.map { $0! }
        try writeScores(to: out, idColumn: idColumn, ids: ids, rows: rows, threshold: info.threshold, modelID: info.modelId)
        var errors = 0, refused = 0
        for r in rows {
            switch r {
            case .error: errors += 1
            case .scored(_, let refuse, _): if refuse { refused += 1 }
            }
        }
        let rate = seconds > 0 ? Double(rows.count) / seconds : 0
        FileHandle.standardError.write(Data(("scored \(rows.count - errors) of \(rows.count) rows (\(refused) refused, \(errors) errors) "
            + "in \(String(format: "%.2f", seconds)) s (\(Int(rate)) rows/s) via \(address), model \(info.modelId)\n").utf8))
    }
}

/// How input columns map onto the model's schema, and the per-batch conversion.
struct BatchPlan: Sendable {
    enum Source: Sendable {
        case numeric([Double?])
        case text([String?])
    }
    let numeric: [(field: String, source: Source)]
    let categorical: [(field: String, source: Source)]

    init(info: ModelDescription, table: DataTable) {
        var numeric: [(String, Source)] = [], categorical: [(String, Source)] = []
        for f in info.fields {
            guard let col = table.column(named: f.name) else { continue }   // not sent: missing for everyone
            let source: Source = switch col.values {
            case .numeric(let v): .numeric(v)
            case .categorical(let v): .text(v)
            }
            if f.kind == .numeric { numeric.append((f.name, source)) } else { categorical.append((f.name, source)) }
        }
        self.numeric = numeric
        self.categorical = categorical
    }

    /// The request for `rows` (input row numbers), the rows actually sent (request order) and
    /// the rows that failed the local checks.
    func build(rows range: Range<Int>, ids: [String?], offset: Int) -> (ColumnBatch, [Int], [(Int, ScoreRow)]) {
        var local: [(Int, ScoreRow)] = []
        var sent: [Int] = []
        sent.reserveCapacity(range.count)
        var numbers = [[Double]](repeating: [], count: numeric.count)
        rows: for r in range {
            guard ids[r - offset] != nil else {
                local.append((r, .error("id is missing")))
                continue
            }
            var parsed = [Double](repeating: .nan, count: numeric.count)
            for (k, f) in numeric.enumerated() {
                switch f.source {
                case .numeric(let v): parsed[k] = v[r] ?? .nan
                case .text(let v):
                    guard let t = v[r], !MissingValues.isMissing(t) else { continue }
                    guard let x = Double(t.trimmingCharacters(in: .whitespaces)) else {
                        local.append((r, .error(field: f.field, value: t, reason: "not a number")))
                        continue rows
                    }
                    parsed[k] = x
                }
            }
            for k in 0..<numeric.count { numbers[k].append(parsed[k]) }
            sent.append(r)
        }
        var batch = ColumnBatch(ids: sent.map { ids[$0 - offset]! })
        batch.numeric = zip(numeric, numbers).map { ($0.field, $1) }
        batch.categorical = categorical.map { f in
            let values: [String] = sent.map { r in
                switch f.source {
                case .text(let v):
                    guard let t = v[r], !MissingValues.isMissing(t) else { return "" }
                    return t
                case .numeric(let v): return v[r].map(formatNumber) ?? ""
                }
            }
            return (f.field, values)
        }
        return (batch, sent, local)
    }

    /// Output rows for a Score answer (entry i belongs to input row `rows[i]`).
    func decode(_ r: ScoreResult, rows: [Int]) -> [(Int, ScoreRow)] {
        var errorAt: [Int: CreditDomain.RowError] = [:]
        for e in r.errors { errorAt[e.row] = e }
        return rows.enumerated().map { i, row in
            if let e = errorAt[i] { return (row, .error(field: e.field, value: e.value, reason: e.reason)) }
            guard i < r.probability.count, !r.probability[i].isNaN else {
                return (row, .error("the daemon returned no probability for this row"))
            }
            let reasons = i < r.reasons.count ? r.reasons[i] : []
            return (row, .scored(probability: r.probability[i], refuse: r.decision[i] == .refuse, reasons: reasons))
        }
    }
}

/// A progress bar with rows per second, redrawn on stderr only when it is a terminal.
final class ScoreProgress: @unchecked Sendable {
    let total: Int
    private var done = 0
    private let started = Date()
    private var lastDraw = Date.distantPast
    private let tty = isatty(STDERR_FILENO) == 1

    init(total: Int) { self.total = total }

    func advance(_ rows: Int) {
        done += rows
        guard tty, Date().timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
        lastDraw = Date()
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let width = 30
        let filled = Int(fraction * Double(width))
        let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-6)
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r\u{1B}[K[\(bar)] \(done)/\(total) rows  \(Int(rate)) rows/s".utf8))
    }

    func finish() {
        if tty && lastDraw != .distantPast { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
