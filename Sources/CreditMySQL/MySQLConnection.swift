import CMariaDB
import CreditData
import CreditDomain
import Foundation

/// One MariaDB Connector/C connection (MySQL 8 and MariaDB), owned: opened from a
/// `DatabaseURL`, closed on deinit.
///
/// Credentials: the URL's user and password, else `--password-file`, else `MYSQL_PWD`.
/// `?socket=PATH` connects through a Unix socket; `?ssl=1` asks for TLS. The character set
/// is utf8mb4. Errors name the server as `host:port` and carry the server's message; the
/// password never appears (the URL is shown redacted).
final class MySQLConnection {
    let url: DatabaseURL
    let mysql: UnsafeMutablePointer<MYSQL>

    static let defaultPort = 3306

    init(_ url: DatabaseURL) throws {
        self.url = url
        guard let m = mysql_init(nil) else { throw DataSourceError.failed(source: url.description, message: "out of memory") }
        var timeout: UInt32 = 10
        mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout)
        mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        var socket: String?
        for p in url.parameters {
            switch p.key.lowercased() {
            case "socket": socket = p.value
            case "ssl", "sslmode":
                if !["0", "false", "disable", "disabled"].contains(p.value.lowercased()) {
                    var on: my_bool = 1
                    mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on)
                }
            default: break
            }
        }
        let password = try url.resolvedPassword() ?? ProcessInfo.processInfo.environment["MYSQL_PWD"]
        let ok = mysql_real_connect(m, url.host, url.user, password, url.database,
                                    UInt32(url.port ?? Self.defaultPort), socket, 0)
        guard ok != nil else {
            let message = oneLine(String(cString: mysql_error(m)))
            mysql_close(m)
            throw DataSourceError.failed(source: url.description,
                                         message: "cannot connect to \(url.endpoint(defaultPort: Self.defaultPort)): \(message)")
        }
        mysql = m
    }

    deinit { mysql_close(mysql) }

    /// Runs one statement; a result set, if any, is read and dropped.
    func execute(_ sql: String) throws {
        guard mysql_real_query(mysql, sql, UInt(sql.utf8.count)) == 0 else { throw lastError() }
        if let r = mysql_store_result(mysql) { mysql_free_result(r) }
        else if mysql_field_count(mysql) != 0 { throw lastError() }
    }

    /// The server's message for the last call.
    func lastError() -> DataSourceError {
        let code = mysql_errno(mysql)
        var message = oneLine(String(cString: mysql_error(mysql)))
        // 2006 server gone away, 2013 lost connection during query.
        if code == 2006 || code == 2013 { message = "connection to \(url.endpoint(defaultPort: Self.defaultPort)) lost: " + message }
        return .failed(source: url.description, message: message)
    }

    var dialect: SQLDialect {
        SQLDialect(
            quote: { "`" + $0.replacingOccurrences(of: "`", with: "``") + "`" },
            literal: { s in
                // The default sql_mode treats backslash as an escape: escape it, quotes, NUL
                // and the line ends (what mysql_real_escape_string does for utf8mb4).
                var out = "'"
                out.reserveCapacity(s.utf8.count + 2)
                for ch in s.unicodeScalars {
                    switch ch {
                    case "\\": out += "\\\\"
                    case "'": out += "\\'"
                    case "\0": out += "\\0"
                    case "\n": out += "\\n"
                    case "\r": out += "\\r"
                    case "\u{1A}": out += "\\Z"
                    default: out.unicodeScalars.append(ch)
                    }
                }
                return out + "'"
            },
            numericType: "DOUBLE", textType: "TEXT", keyType: "VARCHAR(255)",
            upsert: { _, others in
                others.isEmpty ? "" : " ON DUPLICATE KEY UPDATE " + others.map { "\($0) = VALUES(\($0))" }.joined(separator: ", ")
            })
    }
}
