import CreditDomain
import Foundation

/// A database server location: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?key=value&...][#target]`
/// (also `postgresql://`, `mysql://`, `mariadb://`). Drivers (CreditPostgres, CreditMySQL)
/// parse their locations here so the grammar, the credentials and the redaction are one.
///
/// **Secrets.** `description` never holds the password (nor a `password` query parameter):
/// it is what messages, reports and errors show. The password is, in order: the URL's, the
/// `--password-file` (`DatabaseCredentials.passwordFile`), then the driver's own environment
/// (`PGPASSWORD` and `~/.pgpass` through libpq; `MYSQL_PWD`).
public struct DatabaseURL: Sendable, Equatable {
    public var scheme: String
    public var user: String?
    public var password: String?
    public var host: String
    public var port: Int?
    public var database: String?
    /// `?key=value` parameters in order (e.g. `sslmode=require`), percent-decoded.
    public var parameters: [(key: String, value: String)]
    /// The text after `#` (a sink's `schema.table` or `table`), if any.
    public var fragment: String?

    public static func == (a: DatabaseURL, b: DatabaseURL) -> Bool {
        a.scheme == b.scheme && a.user == b.user && a.password == b.password && a.host == b.host && a.port == b.port
            && a.database == b.database && a.fragment == b.fragment
            && a.parameters.map(\.key) == b.parameters.map(\.key) && a.parameters.map(\.value) == b.parameters.map(\.value)
    }

    /// Parses a location; errors show it redacted.
    public init(_ location: String) throws {
        func fail(_ m: String) -> DataSourceError {
            .failed(source: DatabaseURL.redact(location), message: m)
        }
        guard let sep = location.range(of: "://") else { throw fail("expected SCHEME://USER@HOST:PORT/DB") }
        scheme = location[..<sep.lowerBound].lowercased()
        var rest = Substring(location[sep.upperBound...])
        fragment = nil
        if let hash = rest.firstIndex(of: "#") {
            fragment = String(rest[rest.index(after: hash)...])
            rest = rest[..<hash]
        }
        parameters = []
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") where !pair.isEmpty {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                parameters.append((Self.decode(kv[0]), kv.count > 1 ? Self.decode(kv[1]) : ""))
            }
            rest = rest[..<q]
        }
        database = nil
        if let slash = rest.firstIndex(of: "/") {
            let db = Self.decode(rest[rest.index(after: slash)...])
            database = db.isEmpty ? nil : db
            rest = rest[..<slash]
        }
        user = nil; password = nil
        // The last '@' ends the credentials (a password may hold '@' only percent-encoded,
        // but be lenient).
        if let at = rest.lastIndex(of: "@") {
            let cred = rest[..<at]
            if let colon = cred.firstIndex(of: ":") {
                user = Self.decode(cred[..<colon])
                password = Self.decode(cred[cred.index(after: colon)...])
            } else {
                user = Self.decode(cred)
            }
            if user?.isEmpty == true { user = nil }
            rest = rest[rest.index(after: at)...]
        }
        port = nil
        if rest.hasPrefix("[") , let close = rest.firstIndex(of: "]") {   // [IPv6]:port
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw fail("bad port") }
                port = p
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else { throw fail("bad port") }
            port = p
        } else {
            host = String(rest)
        }
        if host.isEmpty { host = "localhost" }
    }

    /// `host:port` as the messages name the server.
    public func endpoint(defaultPort: Int) -> String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(h):\(port ?? defaultPort)"
    }

    /// The location without its password (and without a `password` parameter).
    public var description: String {
        var s = "\(scheme)://"
        if let user { s += user + "@" }
        s += host.contains(":") ? "[\(host)]" : host
        if let port { s += ":\(port)" }
        if let database { s += "/\(database)" }
        let shown = parameters.filter { $0.key.lowercased() != "password" }
        if !shown.isEmpty { s += "?" + shown.map { "\($0.key)=\($0.value)" }.joined(separator: "&") }
        if let fragment { s += "#\(fragment)" }
        return s
    }

    /// The password to send: the URL's, else the `--password-file`'s, else nil (the driver's
    /// environment then applies).
    public func resolvedPassword() throws -> String? {
        if let password { return password }
        return try DatabaseCredentials.passwordFromFile()
    }

    /// A location as it may be shown: server URLs lose their password, others are unchanged.
    public static func redact(_ location: String) -> String { redactedLocation(location) }

    static func decode<S: StringProtocol>(_ s: S) -> String {
        String(s).removingPercentEncoding ?? String(s)
    }
}

/// Process-wide credentials set by the command line (`--password-file PATH`).
public enum DatabaseCredentials {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var file: String?

    /// The `--password-file`: its first line is the password for server URLs without one.
    public static var passwordFile: String? {
        get { lock.lock(); defer { lock.unlock() }; return file }
        set { lock.lock(); defer { lock.unlock() }; file = newValue }
    }

    static func passwordFromFile() throws -> String? {
        guard let path = passwordFile else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DataSourceError.failed(source: "--password-file", message: "cannot read \(path)")
        }
        return String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            .trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
    }
}

/// A sink that can add rows to a keyed table instead of replacing it: database tables, where
/// `credit score` upserts by id in batched transactions so a rerun neither loses nor
/// duplicates rows.
public protocol UpsertingSink: DataSink {
    /// Creates the table if missing (the key column is its primary key) and inserts or
    /// replaces the rows by `key`, in transactions of at most `batchRows` rows.
    func upsert(_ table: DataTable, key: String, batchRows: Int) throws
    /// The same, a batch at a time (`SQLUpsertWriter`): streamed `credit score`.
    func makeUpsertWriter(key: String, batchRows: Int) throws -> any TableWriter
}

/// Cuts a driver's message (libpq's spans lines) to one line.
public func oneLine(_ message: String) -> String {
    message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }.joined(separator: " ")
}
