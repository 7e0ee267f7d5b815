import CreditCSV
import CreditCore
import CreditDomain
import CreditService
import Foundation
import Hummingbird

/// `POST /v1/score/csv`: a CSV file in, the scored CSV out, byte for byte what
/// `credit score --model M --data csv:FILE --out csv:OUT` writes for the same file and model.
/// The file is read and written by the CLI's own code (CreditCSV: `CSVTableReader`,
/// `ScoreInputPlan`, `ScoreOutput`, `CSVBytes`) and scored through the service like every
/// other request (so it counts in the portfolio and the metrics).
///
/// The body is spooled to a temporary file as it arrives (at most `maxCSVBytes`; 413 beyond),
/// read with `credit score`'s kinds and batches (`scoringKinds`, 10,000 rows), then scored
/// in batches whose lines are streamed back as they are done. `X-Credit-Rows` gives the
/// number of input rows before the first line, for a progress bar.
extension HTTPFace {
    static let csvBatchRows = 1000
    /// Rows per read batch: `credit score --model`'s default, so column kinds are decided on
    /// the same rows.
    static let csvReadRows = 10_000

    func scoreCSV(_ request: Request) async -> Response {
        let started = SystemClock.monotonicNanos()
        let type = request.headers[.contentType] ?? ""
        guard type.hasPrefix("text/csv") || type.hasPrefix("application/octet-stream") else {
            return problem(415, "Content-Type must be text/csv", started)
        }
        guard case .success(let model) = service.modelForScoring() else { return problem(503, "no model loaded", started) }
        let path = NSTemporaryDirectory() + "creditd-upload-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).csv"
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let file = FileHandle(forWritingAtPath: path) else {
            return problem(500, "cannot spool the upload", started)
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        var received = 0
        do {
            for try await chunk in request.body {
                received += chunk.readableBytes
                if received > config.maxCSVBytes {
                    try? file.close()
                    return problem(413, "CSV body over \(config.maxCSVBytes) bytes", started)
                }
                try file.write(contentsOf: chunk.readableBytesView)
            }
            try file.close()
        } catch {
            try? file.close()
            return problem(400, "the upload broke off after \(received) bytes", started)
        }
        let idField = model.info.idField.isEmpty ? "id" : model.info.idField
        // Read as `credit score` reads: its kinds, its batches of 10,000 rows.
        var tables: [(table: DataTable, ids: [String?], plan: ScoreInputPlan)] = []
        do {
            let kinds = scoringKinds(idColumn: idField, fields: model.info.fields.map { ($0.name, $0.kind) })
            try CSVTableReader.forEachBatch(path: path, description: "the uploaded CSV", kinds: kinds, rows: Self.csvReadRows) { t in
                guard let idColumn = t.column(named: idField) else {
                    throw HTTPFaceError("the CSV has no id column '\(idField)' (model \(model.info.modelId))")
                }
                let ids: [String?] = (0..<t.rowCount).map { idColumn.isMissing(row: $0) ? nil : idColumn.text(row: $0) }
                tables.append((t, ids, ScoreInputPlan(fields: model.info.fields, table: t, idColumn: idField)))
            }
        } catch let e as HTTPFaceError {
            return problem(422, e.description, started)
        } catch {
            return problem(400, "\(error)", started)
        }
        let batch = min(Self.csvBatchRows, service.config.maxApplicants)
        let total = tables.reduce(0) { $0 + $1.table.rowCount }
        let read = tables
        let body = ResponseBody { writer in
            var bytes: [UInt8] = []
            CSVBytes.appendHeader(ScoreOutput.table(idColumn: idField, ids: [String?](), rows: [ScoreRow](), modelID: "").columnNames, to: &bytes)
            var scored = 0, errors = 0, refused = 0
            for (table, ids, plan) in read {
              for start in stride(from: 0, to: table.rowCount, by: batch) {
                let range = start..<min(start + batch, table.rowCount)
                let rows = self.scoreRows(plan, range: range, ids: ids, model: model)
                let out = ScoreOutput.table(idColumn: idField, ids: ids[range], rows: rows, modelID: model.info.modelId)
                for r in 0..<out.rowCount { CSVBytes.appendRow(out, row: r, to: &bytes) }
                for row in rows {
                    switch row {
                    case .error: errors += 1
                    case .scored(_, let refuse, _): scored += 1; if refuse { refused += 1 }
                    }
                }
                try await writer.write(ByteBuffer(bytes: bytes))
                bytes.removeAll(keepingCapacity: true)
              }
            }
            if !bytes.isEmpty { try await writer.write(ByteBuffer(bytes: bytes)) }
            self.metrics.record(.score, .ok, nanos: SystemClock.monotonicNanos() &- started, rowsScored: scored,
                                rowErrors: errors, refusedRows: refused)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"scores.csv\"",
                                               .init("X-Credit-Rows")!: "\(total)", .init("X-Credit-Model")!: model.info.modelId],
                        body: body)
    }

    /// One batch of input rows scored in process: the rows that fail before scoring (no id, a
    /// text in a numeric field) and the service's scores or row errors, in input order.
    func scoreRows(_ plan: ScoreInputPlan, range: Range<Int>, ids: [String?], model: LoadedModel) -> [ScoreRow] {
        let x = plan.build(rows: range, ids: ids, offset: 0)
        var out = [ScoreRow?](repeating: nil, count: range.count)
        for (r, row) in x.local { out[r - range.lowerBound] = row }
        if !x.sent.isEmpty {
            withScorer { scorer in
                func rejected(_ s: Status) { for r in x.sent { out[r - range.lowerBound] = .error("batch rejected: \(s.code): \(s.message)") } }
                if let s = scorer.begin(model: model, count: x.sent.count, reasons: .full) { return rejected(s) }
                for (k, f) in plan.numeric.enumerated() {
                    guard case .success(let i) = scorer.field(named: f.field) else { continue }
                    if let s = scorer.bindNumeric(i, copying: x.numbers[k]) { return rejected(s) }
                }
                for (k, f) in plan.categorical.enumerated() {
                    guard case .success(let i) = scorer.field(named: f.field) else { continue }
                    if let s = scorer.bindCategorical(i, strings: x.texts[k].map { Optional($0) }) { return rejected(s) }
                }
                if let s = scorer.score() { return rejected(s) }
                let r = scorer.results, fields = model.info.fields
                var errorAt: [Int: RowError] = [:]
                for e in r.errors { errorAt[e.row] = e }
                for (i, row) in x.sent.enumerated() {
                    if let e = errorAt[i] {
                        out[row - range.lowerBound] = .error(field: e.field, value: e.value, reason: e.reason)
                        continue
                    }
                    let reasons = (0..<Int(r.reasonCount[i])).map { k -> Reason in
                        let slot = i * ScoreResults.maxReasons + k
                        let f = Int(r.reasonField[slot])
                        return Reason(feature: f >= 0 && f < fields.count ? fields[f].name : "", text: r.reasonText[slot],
                                      contribution: r.reasonContribution[slot])
                    }
                    out[row - range.lowerBound] = .scored(probability: r.probability[i], refuse: r.decision[i] == .refuse, reasons: reasons)
                }
            }
        }
        return out.map { $0! }
    }
}
