import CPostgres
import CreditData
import CreditDomain
import Foundation

/// One libpq connection, owned: opened from a `DatabaseURL`, closed on deinit.
///
/// Credentials: the URL's user and password, else `--password-file`, else libpq's own
/// `PGPASSWORD` and `~/.pgpass` (libpq reads them when no password is passed). `?key=value`
/// parameters pass through as libpq connection keywords (`sslmode`, `connect_timeout`, ...).
/// Errors name the server as `host:port` and hold libpq's message on one line; neither ever
/// holds the password (libpq's messages do not, and the URL is shown redacted).
final class PostgresConnection {
    let url: DatabaseURL
    let conn: OpaquePointer

    static let defaultPort = 5432

    init(_ url: DatabaseURL) throws {
        self.url = url
        var keys = ["host", "port", "dbname", "client_encoding", "connect_timeout", "application_name"]
        var values = [url.host, String(url.port ?? Self.defaultPort), url.database ?? url.user ?? "postgres", "UTF8", "10", "credit"]
        if let user = url.user { keys.append("user"); values.append(user) }
        if let password = try url.resolvedPassword() { keys.append("password"); values.append(password) }
        for p in url.parameters {
            if let i = keys.firstIndex(of: p.key) { values[i] = p.value } else { keys.append(p.key); values.append(p.value) }
        }
        let c: OpaquePointer? = withCStrings(keys) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 0) } }
        guard let c else { throw DataSourceError.failed(source: url.description, message: "out of memory") }
        guard PQstatus(c) == CONNECTION_OK else {
            let message = oneLine(String(cString: PQerrorMessage(c)))
            PQfinish(c)
            throw DataSourceError.failed(source: url.description,
                                         message: "cannot connect to \(url.endpoint(defaultPort: Self.defaultPort)): \(message)")
        }
        conn = c
    }

    deinit { PQfinish(conn) }

    /// Runs SQL whose result has no rows (or whose rows are not wanted).
    func execute(_ sql: String) throws {
        let r = PQexec(conn, sql)
        defer { PQclear(r) }
        let status = PQresultStatus(r)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw error(r) }
    }

    /// Runs a query and hands its result (tuples) to `body`; the result is freed after.
    func query<T>(_ sql: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        guard let r = PQexec(conn, sql) else { throw lastError() }
        defer { PQclear(r) }
        guard PQresultStatus(r) == PGRES_TUPLES_OK else { throw error(r) }
        return try body(r)
    }

    /// The server's message for a failed result (or the connection's, when it dropped).
    func error(_ r: OpaquePointer?) -> DataSourceError {
        var message = r.flatMap { PQresultErrorMessage($0) }.map { String(cString: $0) } ?? ""
        if message.isEmpty { message = String(cString: PQerrorMessage(conn)) }
        if PQstatus(conn) != CONNECTION_OK {
            message = "connection to \(url.endpoint(defaultPort: Self.defaultPort)) lost: " + message
        }
        return .failed(source: url.description, message: oneLine(message))
    }

    func lastError() -> DataSourceError { error(nil) }

    var dialect: SQLDialect {
        SQLDialect(
            quote: { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" },
            literal: { s in
                // standard_conforming_strings is on (the default since 9.1): only quotes double.
                "'" + s.replacingOccurrences(of: "'", with: "''").replacingOccurrences(of: "\0", with: "") + "'"
            },
            numericType: "DOUBLE PRECISION", textType: "TEXT", keyType: "TEXT",
            upsert: { key, others in
                others.isEmpty ? " ON CONFLICT (\(key)) DO NOTHING"
                    : " ON CONFLICT (\(key)) DO UPDATE SET " + others.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
            })
    }
}

/// Calls `body` with a NULL-terminated array of C strings (valid only during the call).
func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
