import ArgumentParser
import CreditData
import CreditDomain
import Foundation

/// `credit score`'s pipeline, for both scorers: source batches → scorer → sink, in input
/// order, with bounded memory (one source batch being read, at most `window` batches being
/// scored or waiting to be written, one sink buffer or transaction).
///
/// The scorer gets each batch with its sequence number and calls `done` once, at once (in
/// process) or later from another thread (through a daemon). Scored batches are written in
/// input order as soon as they are contiguous.
///
/// **Stopping.** When the source, the scorer or the sink fails (a database session killed, a
/// daemon gone past its reconnect window), reading stops, the batches already scored in order
/// are written, the sink is finished (flushed, committed), and the error says which input row
/// to resume at: every row before it is in the output. `--start-row N` skips the first N
/// input rows, so a rerun completes the output (a database table is upserted by id; a file
/// sink is replaced, so it needs another `--out`). This relies on the query returning the
/// rows in the same order each time (the spec's query has an `ORDER BY`).
final class ScoreStream: @unchecked Sendable {
    typealias Done = @Sendable (Result<ScoredBatch, any Error>) -> Void
    let request: DataRequest
    let batchSize: Int
    let startRow: Int
    let window: Int
    let writer: ScoreWriter
    let progress: ScoreProgress
    let out: String

    private let lock = NSLock()
    private let ready = DispatchSemaphore(value: 0)
    private var finished: [Int: Result<ScoredBatch, any Error>] = [:]
    private var submitted = 0
    private var written = 0
    private var failure: (any Error)?

    init(request: DataRequest, batchSize: Int, startRow: Int, window: Int, writer: ScoreWriter, progress: ScoreProgress, out: String) {
        self.request = request
        self.batchSize = batchSize
        self.startRow = startRow
        self.window = max(1, window)
        self.writer = writer
        self.progress = progress
        self.out = out
    }

    private struct Stop: Error {}

    /// Runs the pipeline; throws `CommandFailure` with the resume point when it stops early.
    func run(score: (_ seq: Int, _ batch: DataTable, _ done: @escaping Done) -> Void) throws {
        var row = 0
        var readError: (any Error)?
        progress.countInBackground(request, skip: startRow)
        do {
            try request.forEachBatch(rows: batchSize) { batch in
                // --start-row: skip input rows before it (the first batch is kept, even if empty,
                // so the sink learns its columns).
                let first = row
                row += batch.rowCount
                var part = batch
                if first < startRow {
                    guard row > startRow || submitted == 0 else { return }
                    part = batch.selecting(rows: Array(min(startRow - first, batch.rowCount)..<batch.rowCount))
                }
                let seq = submitted
                submitted += 1
                score(seq, part) { [self] result in
                    lock.withLock { finished[seq] = result }
                    ready.signal()
                }
                try drain()
                while submitted - written >= window {
                    ready.wait()
                    try drain()
                }
            }
        } catch is Stop {
        } catch {
            readError = error
        }
        // Collect what is in flight: a failed batch stops the writing there.
        while written < submitted && failure == nil {
            ready.wait()
            try? drain()
        }
        let stopError = failure ?? readError
        do {
            try writer.finish()
        } catch {
            if stopError == nil { throw error }
        }
        if let stopError {
            progress.interrupt()
            let resume = startRow + writer.rowsWritten
            let target = DatabaseURL.redact(out)
            let again = writer.upserting ? "the same --out is safe: rows are upserted by id" : "give another --out: a file sink is replaced"
            var why = "\(stopError)"
            while why.hasSuffix(".") { why.removeLast() }
            throw CommandFailure(description: "stopped at input row \(resume): \(why). Rows \(startRow)..<\(resume) are in \(target); "
                + "resume with --start-row \(resume) (\(again))")
        }
    }

    /// Writes the scored batches that are next in order; records (and throws `Stop` for) the
    /// first failure.
    private func drain() throws {
        while failure == nil {
            let next: Result<ScoredBatch, any Error>? = lock.withLock { finished.removeValue(forKey: written) }
            guard let next else { return }
            do {
                let b = try next.get()
                try writer.append(b)
                written += 1
                progress.advance(b.rows.count)
            } catch {
                failure = error
            }
        }
        throw Stop()
    }
}

/// `--batch-size`, `--start-row`: how `credit score` streams (both scorers).
struct StreamOptions: ParsableArguments {
    @Option(name: .customLong("batch-size"),
            help: "Rows per batch, read, scored (one Score request through a daemon) and written together (default 10000 in process, 1000 through a daemon).")
    var batchSize: Int?

    @Option(name: .customLong("start-row"), help: "Skip the first N input rows: resume a stopped run at the row its message names.")
    var startRow = 0

    func validate() throws {
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be ≥ 1") }
        if startRow < 0 { throw ValidationError("--start-row must be ≥ 0") }
    }
}
