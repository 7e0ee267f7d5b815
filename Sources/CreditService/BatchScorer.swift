import CreditDomain

/// Column pointers and storage for building `ColumnarApplicants` without per-applicant
/// allocation. One per scorer and model; grows to the largest batch seen.
final class ApplicantBuffers {
    let fieldCount: Int
    let numericColumns: UnsafeMutablePointer<UnsafePointer<Double>?>
    let codeColumns: UnsafeMutablePointer<UnsafePointer<Int32>?>
    /// One value per field, for the row form.
    let rowNumbers: UnsafeMutablePointer<Double>
    private(set) var rowCapacity = 0
    /// `fieldCount * rowCapacity` category codes (field-major).
    private(set) var codes: UnsafeMutablePointer<Int32>
    /// `fieldCount * rowCapacity` numbers (field-major), for faces that hand over copies.
    private(set) var numbers: UnsafeMutablePointer<Double>
    /// `rowCapacity` NaNs: the column of every numeric field not sent.
    private(set) var nans: UnsafeMutablePointer<Double>
    /// Raw text of the values coded `unknown` (rare: typos and new categories), so the
    /// backend can apply the cleaner's rules and word the row error. Allocates only for them.
    private var unknowns: [(field: Int32, row: Int32, text: String)] = []

    init(fieldCount: Int) {
        self.fieldCount = fieldCount
        numericColumns = .allocate(capacity: max(fieldCount, 1))
        codeColumns = .allocate(capacity: max(fieldCount, 1))
        rowNumbers = .allocate(capacity: max(fieldCount, 1))
        codes = .allocate(capacity: 1)
        numbers = .allocate(capacity: 1)
        nans = .allocate(capacity: 1)
    }

    deinit {
        numericColumns.deallocate()
        codeColumns.deallocate()
        rowNumbers.deallocate()
        codes.deallocate()
        numbers.deallocate()
        nans.deallocate()
    }

    func begin(rows n: Int) {
        if n > rowCapacity {
            var cap = max(rowCapacity, 16)
            while cap < n { cap *= 2 }
            codes.deallocate()
            numbers.deallocate()
            nans.deallocate()
            codes = .allocate(capacity: fieldCount * cap)
            numbers = .allocate(capacity: fieldCount * cap)
            nans = .allocate(capacity: cap)
            nans.initialize(repeating: .nan, count: cap)
            rowCapacity = cap
        }
        for f in 0..<fieldCount {
            numericColumns[f] = nil
            codeColumns[f] = nil
        }
        unknowns.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    func codeColumn(_ f: Int) -> UnsafeMutablePointer<Int32> { codes + f * rowCapacity }

    @inline(__always)
    func numberColumn(_ f: Int) -> UnsafeMutablePointer<Double> { numbers + f * rowCapacity }

    func isBound(_ f: Int) -> Bool { numericColumns[f] != nil || codeColumns[f] != nil }

    /// Codes one categorical value: missing (no bytes or empty), the backend's code of a
    /// category, or unknown.
    @inline(__always)
    func code(_ text: UnsafeRawBufferPointer?, field f: Int, row: Int, table: NameTable, codes: [Int32]) -> Int32 {
        guard let text, text.count > 0 else { return ColumnarApplicants.missing }
        if let i = table.index(of: text) { return codes[i] }
        unknowns.append((Int32(f), Int32(row), String(decoding: text, as: UTF8.self)))
        return ColumnarApplicants.unknown
    }

    func unknownText(field: Int, row: Int) -> String? {
        unknowns.first { $0.field == field && $0.row == row }?.text
    }

    /// Points every field not sent at "missing".
    func fillAbsent(_ fields: [SchemaField], rows n: Int) {
        for f in 0..<fieldCount {
            switch fields[f].kind {
            case .numeric:
                if numericColumns[f] == nil { numericColumns[f] = UnsafePointer(nans) }
            case .categorical:
                if codeColumns[f] == nil {
                    let c = codeColumn(f)
                    c.update(repeating: ColumnarApplicants.missing, count: n)
                    codeColumns[f] = UnsafePointer(c)
                }
            }
        }
    }
}

/// Everything one thread needs to score batches for any face: column bindings, reusable
/// results and backend scratch. A face starts a batch, binds what the request carries
/// (numeric columns in place, categorical values as UTF-8 bytes, or one applicant's
/// fields), and calls `score()`; `results` then holds one score or row error per applicant.
/// Validation (limits, unknown fields, wrong kinds, lengths, duplicates) lives here, with
/// the same words for every face. Owned by one thread; never shared.
public final class BatchScorer {
    public let maxApplicants: Int
    public private(set) var results = ScoreResults()
    /// Applicants refused in the last scored batch (metrics count decisions).
    public private(set) var refusedCount = 0
    private var buffers: (generation: UInt64, buffers: ApplicantBuffers)?
    private var scratch: (generation: UInt64, rows: Int, scratch: any ScoringScratch)?
    private var model: LoadedModel?
    private var batch: ApplicantBuffers?
    private var count = 0
    private var reasons = ReasonDetail.full
    /// Values a face could not pass on intact (not text, NUL inside): their rows become
    /// row errors after scoring, whatever the backend made of the damaged value.
    private var rejected: [RowError] = []

    /// Where scored batches are counted (the service's portfolio; nil: not counted).
    let portfolio: Portfolio?
    private let tally = PortfolioTally()

    public init(maxApplicants: Int) {
        self.maxApplicants = maxApplicants
        portfolio = nil
    }

    init(maxApplicants: Int, portfolio: Portfolio) {
        self.maxApplicants = maxApplicants
        self.portfolio = portfolio
    }

    /// Starts a batch of `count` applicants for `model`. Returns INVALID_ARGUMENT when the
    /// count is 0 or over the limit.
    public func begin(model: LoadedModel, count n: Int, reasons: ReasonDetail) -> Status? {
        if n == 0 { return Status(.invalidArgument, "score request has no applicants") }
        if n > maxApplicants { return Status(.invalidArgument, "\(n) applicants in one request; the limit is \(maxApplicants)") }
        let b = buffers(for: model)
        b.begin(rows: n)
        self.model = model
        self.batch = b
        self.count = n
        self.reasons = reasons
        rejected.removeAll(keepingCapacity: true)
        return nil
    }

    /// Makes applicant `row` a row error: its `field` held `value` (shown escaped), which
    /// the face could not pass on intact for `reason`.
    public func reject(row: Int, field: String, value: String, reason: String) {
        rejected.append(RowError(row: row, field: field, value: value, reason: reason))
    }

    /// The field with this UTF-8 name, or INVALID_ARGUMENT naming the fields the model takes.
    @inline(__always)
    public func field(named name: UnsafeRawBufferPointer) -> Result<Int, Status> {
        let m = model!
        if let f = m.fieldNames.index(of: name) { return .success(f) }
        let text = String(decoding: name, as: UTF8.self)
        return .failure(Status(.invalidArgument, "unknown field '\(text)'; model \(m.info.modelId) takes: \(m.info.fields.map(\.name).joined(separator: ", "))"))
    }

    /// The field with this name (faces holding Swift strings).
    public func field(named name: String) -> Result<Int, Status> {
        var s = name
        return s.withUTF8 { field(named: UnsafeRawBufferPointer($0)) }
    }

    /// Binds numeric column `f` in place (the values must outlive `score()`).
    public func bindNumeric(_ f: Int, _ values: UnsafeBufferPointer<Double>) -> Status? {
        if let problem = checkNumeric(f, valueCount: values.count) { return problem }
        let b = batch!
        b.numericColumns[f] = values.baseAddress ?? UnsafePointer(b.nans)
        return nil
    }

    private func checkNumeric(_ f: Int, valueCount: Int) -> Status? {
        let fields = model!.info.fields
        guard fields[f].kind == .numeric else {
            return Status(.invalidArgument, "field '\(fields[f].name)' is categorical; send it as a categorical column")
        }
        guard valueCount == count else {
            return Status(.invalidArgument, "numeric column '\(fields[f].name)' has \(valueCount) values for \(count) applicants")
        }
        guard !batch!.isBound(f) else { return Status(.invalidArgument, "field '\(fields[f].name)' is sent twice") }
        return nil
    }

    /// Binds numeric column `f` from a copy of `values` (faces that parse text into numbers).
    public func bindNumeric(_ f: Int, copying values: [Double]) -> Status? {
        if let problem = checkNumeric(f, valueCount: values.count) { return problem }
        let b = batch!, column = b.numberColumn(f)
        values.withUnsafeBufferPointer { column.update(from: $0.baseAddress!, count: values.count) }
        b.numericColumns[f] = UnsafePointer(column)
        return nil
    }

    /// Binds categorical column `f` from `valueCount` values; `text(i)` gives value `i`'s
    /// UTF-8 bytes (nil or empty = missing), which must stay valid during this call (C
    /// strings of an unpacked message, slices of a request body).
    public func bindCategorical(_ f: Int, valueCount: Int, text: (Int) -> UnsafeRawBufferPointer?) -> Status? {
        if let problem = checkCategorical(f, valueCount: valueCount) { return problem }
        let b = batch!, codes = b.codeColumn(f), table = model!.categories[f], known = model!.codes[f]
        for r in 0..<count { codes[r] = b.code(text(r), field: f, row: r, table: table, codes: known) }
        b.codeColumns[f] = UnsafePointer(codes)
        return nil
    }

    /// Binds categorical column `f` from Swift strings (nil or "" = missing). Each string's
    /// bytes are read in its own scope: a small string's bytes live on the stack.
    /// Concrete, not generic over the collection: across the module boundary a generic one ran
    /// unspecialised, looking up type metadata per value (a tenth of a JSON request's CPU).
    public func bindCategorical(_ f: Int, strings: [String?]) -> Status? {
        if let problem = checkCategorical(f, valueCount: strings.count) { return problem }
        let b = batch!, codes = b.codeColumn(f), table = model!.categories[f], known = model!.codes[f]
        for r in strings.indices {
            guard var s = strings[r] else { codes[r] = ColumnarApplicants.missing; continue }
            codes[r] = s.withUTF8 { b.code(UnsafeRawBufferPointer($0), field: f, row: r, table: table, codes: known) }
        }
        b.codeColumns[f] = UnsafePointer(codes)
        return nil
    }

    private func checkCategorical(_ f: Int, valueCount: Int) -> Status? {
        let fields = model!.info.fields
        guard fields[f].kind == .categorical else {
            return Status(.invalidArgument, "field '\(fields[f].name)' is numeric; send it as a numeric column")
        }
        guard valueCount == count else {
            return Status(.invalidArgument, "categorical column '\(fields[f].name)' has \(valueCount) values for \(count) applicants")
        }
        guard !batch!.isBound(f) else { return Status(.invalidArgument, "field '\(fields[f].name)' is sent twice") }
        return nil
    }

    /// One applicant's value (a batch of 1): a number, UTF-8 text, or nil for missing.
    public enum RowValue {
        case number(Double)
        case text(UnsafeRawBufferPointer?)
        case missing
    }

    /// Sets field `f` of the single applicant (`begin(count: 1)`).
    public func setRowValue(_ f: Int, _ value: RowValue) -> Status? {
        let m = model!, fields = m.info.fields, b = batch!
        guard !b.isBound(f) else { return Status(.invalidArgument, "field '\(fields[f].name)' is sent twice") }
        switch (value, fields[f].kind) {
        case (.number(let x), .numeric):
            b.rowNumbers[f] = x
            b.numericColumns[f] = UnsafePointer(b.rowNumbers + f)
        case (.text(let t), .categorical):
            let c = b.codeColumn(f)
            c[0] = b.code(t, field: f, row: 0, table: m.categories[f], codes: m.codes[f])
            b.codeColumns[f] = UnsafePointer(c)
        case (.number(let x), .categorical):
            return Status(.invalidArgument, "field '\(fields[f].name)' is categorical; got the number \(x)")
        case (.text(let t), .numeric):
            let s = t.map { String(decoding: $0, as: UTF8.self) } ?? ""
            return Status(.invalidArgument, "field '\(fields[f].name)' is numeric; got the text '\(s)'")
        case (.missing, _):
            break
        }
        return nil
    }

    /// Scores the bound batch into `results`. INTERNAL when the backend left an applicant
    /// without a score or a row error (the message says how many).
    public func score() -> Status? {
        let m = model!, b = batch!
        b.fillAbsent(m.info.fields, rows: count)
        results.reset(count: count)
        let applicants = ColumnarApplicants(count: count, fields: m.info.fields, reasons: reasons, buffers: b)
        m.backend.score(applicants, into: &results, scratch: scratch(for: m, rows: count))
        for e in rejected where e.row < count {
            results.overrideWithError(row: e.row, field: e.field, value: e.value, reason: e.reason)
        }
        var unset = 0, refused = 0
        for i in 0..<results.count {
            switch results.decision[i] {
            case .unspecified: unset += 1
            case .refuse: refused += 1
            case .approve: break
            }
        }
        refusedCount = refused
        if unset != results.errors.count {
            return Status(.internal, "model \(m.info.modelId): \(unset - results.errors.count) applicants were left without a score or a row error")
        }
        if let portfolio, m.generation != 0 {
            tally.count(results, applicants, model: m)
            portfolio.merge(tally)
        }
        return nil
    }

    /// Scores one applicant with every field missing (model verification at load).
    func scoreAllMissing(model: LoadedModel) -> String? {
        if let s = begin(model: model, count: 1, reasons: .full) { return s.message }
        return score()?.message
    }

    private func buffers(for model: LoadedModel) -> ApplicantBuffers {
        if let b = buffers, b.generation == model.generation, model.generation != 0 { return b.buffers }
        let b = ApplicantBuffers(fieldCount: model.info.fields.count)
        if model.generation != 0 { buffers = (model.generation, b) }
        return b
    }

    private func scratch(for model: LoadedModel, rows: Int) -> any ScoringScratch {
        if let s = scratch, s.generation == model.generation, s.rows >= rows, model.generation != 0 { return s.scratch }
        var cap = 16
        while cap < rows { cap *= 2 }
        let s = model.backend.makeScratch(maxRows: cap)
        if model.generation != 0 { scratch = (model.generation, cap, s) }
        return s
    }
}
