import CreditDomain
import Foundation

/// Opens data sources and sinks from URL-like locations.
///
/// Built in: `sqlite:PATH` and `csv:PATH` (sources), `csv:PATH` and `sqlite:PATH[#table]`
/// (sinks). Server databases (`postgres://...`, `mysql://...`) register an opener for their
/// scheme with `register(scheme:source:)`/`register(scheme:sink:)` — nothing else changes.
public enum DataSources {
    public typealias SourceOpener = @Sendable (_ location: String, _ kinds: ColumnKinds) throws -> any DataSource
    public typealias SinkOpener = @Sendable (_ location: String) throws -> any DataSink

    private final class Registry: @unchecked Sendable {
        let lock = NSLock()
        var sources: [String: SourceOpener] = [
            "sqlite": { location, kinds in SQLiteSource(path: try DataSources.path(of: location), kinds: kinds) },
            "csv": { location, kinds in CSVSource(path: try DataSources.path(of: location), kinds: kinds) },
        ]
        var sinks: [String: SinkOpener] = [
            "sqlite": { location in
                let rest = try DataSources.path(of: location)
                if let hash = rest.lastIndex(of: "#") {
                    return SQLiteSink(path: String(rest[..<hash]), table: String(rest[rest.index(after: hash)...]))
                }
                return SQLiteSink(path: rest)
            },
            "csv": { location in CSVSink(path: try DataSources.path(of: location)) },
        ]
    }

    private static let registry = Registry()

    /// The scheme of a location: the text before the first ':' (`sqlite`, `csv`, `postgres`).
    public static func scheme(of location: String) -> String? {
        guard let colon = location.firstIndex(of: ":") else { return nil }
        return location[..<colon].lowercased()
    }

    /// The text after `scheme:` (and after `//` when present): a file path for file schemes.
    public static func path(of location: String) throws -> String {
        guard let colon = location.firstIndex(of: ":") else {
            throw DataSourceError.unknownScheme(location: location, known: knownSourceSchemes)
        }
        var rest = location[location.index(after: colon)...]
        if rest.hasPrefix("//") { rest = rest.dropFirst(2) }
        guard !rest.isEmpty else { throw DataSourceError.failed(source: location, message: "no path given") }
        return String(rest)
    }

    public static var knownSourceSchemes: [String] {
        registry.lock.lock(); defer { registry.lock.unlock() }
        return registry.sources.keys.sorted()
    }

    /// Adds (or replaces) the opener for a source scheme.
    public static func register(scheme: String, source: @escaping SourceOpener) {
        registry.lock.lock(); defer { registry.lock.unlock() }
        registry.sources[scheme.lowercased()] = source
    }

    /// Adds (or replaces) the opener for a sink scheme.
    public static func register(scheme: String, sink: @escaping SinkOpener) {
        registry.lock.lock(); defer { registry.lock.unlock() }
        registry.sinks[scheme.lowercased()] = sink
    }

    /// Opens a source: `DataSources.open("sqlite:book.db")`, `DataSources.open("csv:book.csv")`.
    public static func open(_ location: String, kinds: ColumnKinds = ColumnKinds()) throws -> any DataSource {
        let opener: SourceOpener? = {
            registry.lock.lock(); defer { registry.lock.unlock() }
            return scheme(of: location).flatMap { registry.sources[$0] }
        }()
        guard let opener else { throw DataSourceError.unknownScheme(location: location, known: knownSourceSchemes) }
        return try opener(location, kinds)
    }

    /// Opens a sink: `csv:PATH` or `sqlite:PATH[#table]` (default table `data`).
    public static func sink(_ location: String) throws -> any DataSink {
        let opener: SinkOpener? = {
            registry.lock.lock(); defer { registry.lock.unlock() }
            return scheme(of: location).flatMap { registry.sinks[$0] }
        }()
        guard let opener else {
            let known: [String] = {
                registry.lock.lock(); defer { registry.lock.unlock() }
                return registry.sinks.keys.sorted()
            }()
            throw DataSourceError.unknownScheme(location: location, known: known)
        }
        return try opener(location)
    }

    /// Reads a table the way every command does (`DataRequest`): `--data LOCATION
    /// [--query SQL|@file.sql]` with a dataset spec, whose default query serves sources that
    /// take one and whose `forcedKinds` type the columns.
    public static func read(_ location: String, query: String? = nil, spec: DatasetSpec? = nil) throws -> DataTable {
        try DataRequest(location: location, query: query, defaultQuery: spec?.query,
                        kinds: spec?.forcedKinds ?? ColumnKinds()).read()
    }

    /// Resolves a `--query` argument: `@file.sql` reads the file, anything else is SQL.
    public static func resolveQuery(_ argument: String, relativeTo directory: String? = nil) throws -> String {
        guard argument.hasPrefix("@") else { return argument }
        var path = String(argument.dropFirst())
        if let directory, !path.hasPrefix("/") { path = directory + "/" + path }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DataSourceError.fileNotFound(path)
        }
        return text
    }
}

/// Where a table is written: scores, synthetic books, cleaned data.
public protocol DataSink {
    var description: String { get }
    /// Writes the table, replacing what the destination held (file or table).
    func write(_ table: DataTable) throws
}

extension DataSink {
    /// Writes the table with extra columns (e.g. score, decision) appended.
    public func write(_ table: DataTable, adding extra: [Column]) throws {
        var t = table
        for c in extra { t.replace(c) }
        try write(t)
    }
}
