import Foundation

/// A dataset spec that cannot be used: the file, and every problem found (one per line).
public struct SpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String?
    public var problems: [String]

    public init(file: String? = nil, problems: [String]) {
        self.file = file
        self.problems = problems
    }

    public var description: String {
        let head = file.map { "invalid dataset spec \($0)" } ?? "invalid dataset spec"
        return head + ":\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

extension DatasetSpec {
    /// Reads a spec from a JSON file, resolves `query_file` (relative to the spec's folder)
    /// into `query`, and validates it.
    public static func load(from path: String) throws -> DatasetSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpecError(file: path, problems: ["cannot read the file"])
        }
        var spec: DatasetSpec
        do {
            spec = try JSONDecoder().decode(DatasetSpec.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw SpecError(file: path, problems: ["missing key '\(key.stringValue)'" + Self.at(context.codingPath)])
        } catch let DecodingError.typeMismatch(type, context) {
            throw SpecError(file: path, problems: ["expected \(type)" + Self.at(context.codingPath)
                + ": \(context.debugDescription)"])
        } catch let DecodingError.valueNotFound(type, context) {
            throw SpecError(file: path, problems: ["expected \(type)" + Self.at(context.codingPath)])
        } catch let DecodingError.dataCorrupted(context) {
            throw SpecError(file: path, problems: ["\(context.debugDescription)" + Self.at(context.codingPath)
                + ((context.underlyingError).map { " (\($0.localizedDescription))" } ?? "")])
        } catch {
            throw SpecError(file: path, problems: ["\(error)"])
        }
        if let queryFile = spec.queryFile {
            let base = URL(fileURLWithPath: path).deletingLastPathComponent()
            let url = queryFile.hasPrefix("/") ? URL(fileURLWithPath: queryFile)
                : base.appendingPathComponent(queryFile)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw SpecError(file: path, problems: ["query_file '\(queryFile)' not found (looked at \(url.path))"])
            }
            if spec.query != nil {
                throw SpecError(file: path, problems: ["give either query or query_file, not both"])
            }
            spec.query = text
        }
        do {
            try spec.validate()
        } catch var e as SpecError {
            e.file = path
            throw e
        }
        return spec
    }

    private static func at(_ path: [CodingKey]) -> String {
        guard !path.isEmpty else { return "" }
        return " at " + path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    /// Checks the spec on its own (no data): names, ranges, vocabularies. Throws one
    /// `SpecError` listing every problem.
    public func validate() throws {
        var problems: [String] = []
        if id.isEmpty { problems.append("id is empty") }
        if target.column.isEmpty { problems.append("target.column is empty") }
        if target.positive.isEmpty { problems.append("target.positive is empty (e.g. \"1\")") }
        if id == target.column { problems.append("id and target are the same column '\(id)'") }
        if features.isEmpty { problems.append("features is empty") }
        var seen = Set<String>()
        for f in features {
            let where_ = "feature '\(f.name)'"
            if f.name.isEmpty { problems.append("a feature has an empty name") }
            if !seen.insert(f.name).inserted { problems.append("\(where_) is listed twice") }
            if f.name == id { problems.append("\(where_) is the id column; the id is never a feature") }
            if f.name == target.column { problems.append("\(where_) is the target column") }
            if let r = f.range {
                if f.kind == .categorical { problems.append("\(where_) is categorical but has a range") }
                if r.min == nil && r.max == nil { problems.append("\(where_): range needs min, max or both") }
                if let lo = r.min, let hi = r.max, lo > hi {
                    problems.append("\(where_): range min \(formatNumber(lo)) is above max \(formatNumber(hi))")
                }
                if r.min.map({ !$0.isFinite }) == true || r.max.map({ !$0.isFinite }) == true {
                    problems.append("\(where_): range bounds must be finite numbers")
                }
            }
            if let v = f.vocabulary {
                if f.kind == .numeric { problems.append("\(where_) is numeric but has a vocabulary") }
                if v.isEmpty { problems.append("\(where_): vocabulary is empty") }
                if Set(v).count != v.count { problems.append("\(where_): vocabulary lists a value twice") }
                if v.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                    problems.append("\(where_): vocabulary has an empty value")
                }
                if v.contains(where: { $0.lowercased() == Cleaner.unknownCategory }) {
                    problems.append("\(where_): '\(Cleaner.unknownCategory)' is reserved for unmatched values")
                }
                let keys = v.map(CategoryCanonicalizer.normalize)
                if Set(keys).count != keys.count {
                    problems.append("\(where_): vocabulary has values that differ only in case or spacing")
                }
            }
            if let d = f.maxEditDistance, d < 0 { problems.append("\(where_): max_edit_distance must be >= 0") }
            if f.maxEditDistance != nil && f.vocabulary == nil {
                problems.append("\(where_): max_edit_distance needs a vocabulary")
            }
            let categorical = Schema.declaredKind(of: f) == .categorical
            if let o = f.order {
                if !categorical { problems.append("\(where_): order is for categorical features (with a vocabulary)") }
                if let v = f.vocabulary, Set(o) != Set(v) || o.count != v.count {
                    problems.append("\(where_): order must list the vocabulary's values, each once (vocabulary: \(v.joined(separator: ", ")))")
                }
                if f.vocabulary == nil { problems.append("\(where_): order needs a vocabulary") }
            }
            if f.monotone != nil && categorical && f.order == nil {
                problems.append("\(where_): monotone on a categorical feature needs an order (lowest first)")
            }
            if let m = f.monotone, let side = f.adverseSide, side != (m == .increasing ? .high : .low) {
                problems.append("\(where_): adverse_side \(side.rawValue) contradicts monotone \(m.rawValue)")
            }
            if f.adverseSide != nil && categorical && f.order == nil {
                problems.append("\(where_): adverse_side is for numeric or ordinal features; give adverse_categories instead")
            }
            if let a = f.adverseCategories {
                if !categorical { problems.append("\(where_): adverse_categories is for categorical features") }
                if let v = f.vocabulary, let bad = a.first(where: { !v.contains($0) }) {
                    problems.append("\(where_): adverse category '\(bad)' is not in the vocabulary")
                }
                if let o = f.order, let side = f.effectiveAdverseSide {
                    // Along the order, the adverse categories must be one end (the adverse one).
                    let ranks = a.compactMap { o.firstIndex(of: $0) }.sorted()
                    let expected = side == .high ? Array((o.count - ranks.count)..<o.count) : Array(0..<ranks.count)
                    if ranks != expected {
                        problems.append("\(where_): adverse_categories must be the \(side == .high ? "last" : "first") values of the order")
                    }
                }
            }
        }
        if !problems.isEmpty { throw SpecError(problems: problems) }
    }

    /// The kinds a source must use before any data is seen: the id is always categorical (ids
    /// can look numeric), and every feature whose kind the spec decides keeps it
    /// (`Schema.declaredKind(of:)`: its kind, else a vocabulary → categorical, a range → numeric).
    public var forcedKinds: ColumnKinds {
        var forced: [String: FeatureKind] = [id: .categorical]
        for f in features {
            if let k = Schema.declaredKind(of: f) { forced[f.name] = k }
        }
        return ColumnKinds(forced: forced)
    }

    /// Checks that the table has the spec's columns and fills in the kind of every feature
    /// that left it out (`Schema.declaredKind(of:)`, else the column's inferred kind). A feature
    /// whose vocabulary or range contradicts the data's kind is an error.
    public func resolvingKinds(with table: DataTable) throws -> DatasetSpec {
        var problems: [String] = []
        let available = table.columnNames.joined(separator: ", ")
        if !table.contains(column: id) { problems.append("id column '\(id)' is not in the data (columns: \(available))") }
        var spec = self
        for (i, f) in features.enumerated() {
            guard let column = table.column(named: f.name) else {
                problems.append("feature '\(f.name)' is not in the data (columns: \(available))")
                continue
            }
            if f.kind == nil {
                let declared = Schema.declaredKind(of: f)
                if f.range != nil && (declared != .numeric || column.kind != .numeric) {
                    problems.append("feature '\(f.name)' has a range but its values are not all numbers")
                }
                spec.features[i].kind = declared ?? column.kind
            } else if f.kind != column.kind {
                problems.append("feature '\(f.name)' is \(f.kind!.rawValue) in the spec but \(column.kind.rawValue) in the data")
            }
        }
        if !problems.isEmpty { throw SpecError(problems: problems) }
        return spec
    }

    /// The label of a column for reports: a feature's label (`Schema.label(of:)`), else the
    /// column's name.
    public func label(of column: String) -> String {
        feature(named: column).map(Schema.label(of:)) ?? column
    }
}
