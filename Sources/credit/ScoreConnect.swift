import ArgumentParser
import CreditCSV
import CreditClient
import CreditCore
import CreditData
import CreditDomain
import CreditWire
import Foundation

/// `credit score --connect ADDRESS ...`: the batch scorer through creditd daemons.
struct ConnectOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A creditd daemon to score through (unix:PATH or tcp:HOST:PORT) instead of --model. Repeat it, or give a comma-separated list, to spread the batches over several daemons.", valueName: "address"))
    var connect: [String] = []

    @Option(name: .customLong("in-flight"), help: "Score requests in flight at once, per daemon.")
    var inFlight = 4

    @Option(help: "Connections to each daemon.")
    var connections = 2

    @Option(help: "Dataset spec (JSON): its id column and, for SQL sources, its default query. Default: the daemon's model says both (ModelInfo).")
    var spec: String?

    @Option(name: .customLong("id-column"), help: "Id column of the input (default: the spec's id, else the model's).")
    var idColumn: String?

    @Option(name: .customLong("reconnect-seconds"), help: "How long to keep trying to reach a daemon that went away.")
    var reconnectSeconds = 30.0

    @Option(name: .customLong("timeout"), help: "Deadline per batch, seconds.")
    var timeout = 60.0
}

/// Streams the input to the daemons in batches (`ScoreStream`), several in flight, and writes
/// one output row per input row in input order (same table as the in-process `credit score
/// --model`; a database table's `model_id` is the one each answer names).
///
/// Rows are checked before sending: a missing id or a non-numeric text in a numeric field
/// becomes an error row here (the wire carries numbers as doubles); the daemon reports the
/// rest (unknown categories, out-of-range values, ±inf) as per-row errors.
///
/// **Several daemons.** Each batch goes to the daemon with the fewest requests outstanding
/// (ties in turn), so a slow or busy one gets less. A batch whose daemon stays away past
/// `--reconnect-seconds` (lost connections are retried: scoring is idempotent) is tried on
/// the others; when none answers, the run stops with the resume point (`ScoreStream`).
struct ConnectedScorer: Sendable {
    let addresses: [String]
    let batchSize: Int
    let inFlight: Int
    let connections: Int
    let specPath: String?
    let idColumnOption: String?
    let startRow: Int
    let reconnect: Double
    let timeout: Double
    let input: InputDataOptions
    let ids: IDFilterOptions
    let out: String

    init(options o: ConnectOptions, input: InputDataOptions, ids: IDFilterOptions, stream: StreamOptions, out: String) {
        addresses = o.connect
        batchSize = stream.batchSize ?? 1000
        inFlight = o.inFlight
        connections = o.connections
        specPath = o.spec
        idColumnOption = o.idColumn
        startRow = stream.startRow
        reconnect = o.reconnectSeconds
        timeout = o.timeout
        self.input = input
        self.ids = ids
        self.out = out
    }

    func runBlocking() throws {
        guard inFlight >= 1, connections >= 1 else {
            throw CommandFailure(description: "--in-flight and --connections must be ≥ 1")
        }
        let parsed = try addresses.flatMap { text in
            do throws(DaemonError) { return try DaemonClient.addresses(text) } catch {
                throw CommandFailure(description: "--connect: \(error)")
            }
        }
        let spec = try specPath.map { try DatasetSpec.load(from: $0) }
        var options = DaemonClient.Options()
        options.connections = connections
        options.reconnectWindow = .milliseconds(Int64(reconnect * 1000))
        options.retries = 5
        let pool = DaemonPool(clients: parsed.map { DaemonClient($0, options: options) })
        defer { pool.clients.forEach { $0.close() } }
        let infoTimeout = Duration.milliseconds(Int64((reconnect + 5) * 1000))
        let info = try blocking { try await pool.modelInfo(timeout: infoTimeout) }
        // The model carries its training spec's id column and default query, so --spec is
        // needed only to override them.
        let idColumn = idColumnOption ?? spec?.id ?? (info.idField.isEmpty ? "loan_id" : info.idField)
        let defaultQuery = spec?.query ?? (info.query.isEmpty ? nil : info.query)
        let kinds = scoringKinds(idColumn: idColumn, fields: info.fields.map { ($0.name, $0.kind) })
        let request = try input.request(defaultQuery: defaultQuery, kinds: kinds, ids: ids, idColumn: idColumn)
        let thresholds = ThresholdBook(info)
        let writer = try ScoreWriter(out: out, idColumn: idColumn)
        let progress = ScoreProgress()
        let stream = ScoreStream(request: request, batchSize: batchSize, startRow: startRow,
                                 window: inFlight * pool.clients.count, writer: writer, progress: progress, out: out)
        let deadline = Duration.milliseconds(Int64(timeout * 1000))
        try stream.run { _, batch, done in
            guard let idCol = batch.column(named: idColumn) else {
                return done(.failure(CommandFailure(description: "the input has no id column '\(idColumn)' (set --id-column or --spec)")))
            }
            let rowIDs: [String?] = (0..<batch.rowCount).map { idCol.isMissing(row: $0) ? nil : idCol.text(row: $0) }
            let plan = BatchPlan(info: info, table: batch, idColumn: idColumn)
            let (request, sent, local) = plan.build(ids: rowIDs)
            Task.detached {
                var rows = [ScoreRow?](repeating: nil, count: rowIDs.count)
                for (r, row) in local { rows[r] = row }
                var modelID = info.modelId
                if !sent.isEmpty {
                    switch await pool.score(request, timeout: deadline) {
                    case .failure(let e):
                        return done(.failure(e))
                    case .success(.rejected(let code, let message)):
                        // The daemon rejected the whole batch (e.g. a field of the wrong kind).
                        for r in sent { rows[r] = .error("batch rejected by the daemon: \(code): \(message)") }
                    case .success(.scored(let answer, let client)):
                        for (r, row) in plan.decode(answer, rows: sent) { rows[r] = row }
                        modelID = answer.modelId
                        await thresholds.learn(modelID, from: client)
                    }
                }
                done(.success(ScoredBatch(ids: rowIDs, rows: rows.map { $0! }, modelID: modelID, threshold: thresholds[modelID])))
            }
        }
        progress.summary(writer, via: parsed.map(\.description).joined(separator: ","))
    }
}

/// The daemons of `--connect`: least outstanding requests first, the others as fallbacks.
final class DaemonPool: @unchecked Sendable {
    enum Answer {
        case scored(ScoreResult, DaemonClient)
        case rejected(StatusCode, String)
    }
    let clients: [DaemonClient]
    private let lock = NSLock()
    private var outstanding: [Int]
    private var turn = 0

    init(clients: [DaemonClient]) {
        self.clients = clients
        outstanding = Array(repeating: 0, count: clients.count)
    }

    /// Daemon indices to try, the least busy first (ties from a rotating start); marks the
    /// first as having one more request outstanding.
    private func order() -> [Int] {
        lock.withLock {
            let n = clients.count
            turn &+= 1
            let rotated = (0..<n).map { (turn + $0) % n }
            let sorted = rotated.sorted { outstanding[$0] < outstanding[$1] }   // stable: ties keep the rotation
            outstanding[sorted[0]] += 1
            return sorted
        }
    }

    private func adjust(_ i: Int, _ d: Int) { lock.withLock { outstanding[i] += d } }

    /// Scores on the least busy daemon; a daemon that stays away hands the batch to the next.
    func score(_ batch: ColumnBatch, timeout: Duration) async -> Result<Answer, DaemonError> {
        let order = order()
        var last = DaemonError.closed
        for (k, i) in order.enumerated() {
            if k > 0 { adjust(i, 1) }
            defer { adjust(i, -1) }
            do throws(DaemonError) {
                return .success(.scored(try await clients[i].score(batch, timeout: timeout), clients[i]))
            } catch {
                if case .status(let code, let message) = error, code != .unavailable, code != .deadlineExceeded {
                    return .success(.rejected(code, message))
                }
                last = error
            }
        }
        return .failure(last)
    }

    /// The model of the first daemon that answers.
    func modelInfo(timeout: Duration) async throws -> ModelDescription {
        var last: (any Error)?
        for c in clients {
            do { return try await c.modelInfo(timeout: timeout) } catch { last = error }
        }
        throw last ?? DaemonError.closed
    }
}

/// Each model's threshold by id, learnt from ModelInfo the first time an answer names a model
/// (a hot reload brings a new one). Unknown when a second reload raced the lookup.
final class ThresholdBook: @unchecked Sendable {
    private let lock = NSLock()
    private var known: [String: Double?]

    init(_ info: ModelDescription) { known = [info.modelId: info.threshold] }

    subscript(id: String) -> Double? { lock.withLock { known[id] ?? nil } }

    func learn(_ id: String, from client: DaemonClient) async {
        guard lock.withLock({ known[id] == nil }) else { return }
        let m = try? await client.modelInfo(timeout: .seconds(10))
        lock.withLock {
            if let m { known[m.modelId] = m.threshold }
            if known[id] == nil { known[id] = .some(nil) }
        }
    }
}

/// The input plan (`ScoreInputPlan`, CreditCSV's, shared with creditd's CSV endpoint) as wire batches.
struct BatchPlan: Sendable {
    let input: ScoreInputPlan

    init(info: ModelDescription, table: DataTable, idColumn: String) {
        input = ScoreInputPlan(fields: info.fields, table: table, idColumn: idColumn)
    }

    /// The request for a batch's rows (`ids` per row), the rows actually sent (request order)
    /// and the rows that failed the local checks (row numbers within the batch).
    func build(ids: [String?]) -> (ColumnBatch, [Int], [(Int, ScoreRow)]) {
        let x = input.build(rows: 0..<ids.count, ids: ids, offset: 0)
        var batch = ColumnBatch(ids: x.ids)
        batch.numeric = zip(input.numeric, x.numbers).map { ($0.field, $1) }
        batch.categorical = zip(input.categorical, x.texts).map { ($0.field, $1) }
        return (batch, x.sent, x.local)
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
