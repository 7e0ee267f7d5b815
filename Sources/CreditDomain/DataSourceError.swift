import Foundation

/// A location as it may be shown: server URLs (`scheme://user:password@host/...`) lose their
/// password (and a `password=` parameter); other locations are unchanged.
public func redactedLocation(_ location: String) -> String {
    guard let sep = location.range(of: "://") else { return location }
    let afterScheme = location[sep.upperBound...]
    let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? afterScheme.endIndex
    var out = location
    if let at = afterScheme[..<authorityEnd].lastIndex(of: "@"),
       let colon = afterScheme[..<at].firstIndex(of: ":") {
        out = String(location[..<colon]) + String(location[at...])
    }
    // A `password=` parameter.
    if let r = out.range(of: "password=", options: .caseInsensitive) {
        let end = out[r.upperBound...].firstIndex(where: { $0 == "&" || $0 == "#" }) ?? out.endIndex
        out.replaceSubrange(r.upperBound..<end, with: "***")
    }
    return out
}

/// Errors opening or reading a data source or sink.
public enum DataSourceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The location is not `scheme:...` with a scheme the factory knows.
    case unknownScheme(location: String, known: [String])
    case queryNotSupported(source: String)
    case queryRequired(source: String)
    case fileNotFound(String)
    /// A column forced numeric holds a value that is not a number.
    case notNumeric(row: Int, column: String, value: String)
    /// A column the first batch decided numeric holds a value that is not a number.
    case kindDecided(row: Int, column: String, value: String)
    case malformed(source: String, row: Int, message: String)
    case failed(source: String, message: String)

    public var description: String {
        switch self {
        case .unknownScheme(let l, let known):
            return "unknown data location '\(redactedLocation(l))'; expected one of: " + known.map { "\($0):..." }.joined(separator: ", ")
        case .queryNotSupported(let s): return "\(s) has no query language; drop --query"
        case .queryRequired(let s): return "\(s) needs a query (--query \"SQL\" or --query @file.sql, or query/query_file in the spec)"
        case .fileNotFound(let p): return "file not found: \(p)"
        case .notNumeric(let row, let column, let value):
            return "row \(row + 1), column \(column): value '\(value)' is not a number (the spec says numeric)"
        case .kindDecided(let row, let column, let value):
            return "row \(row + 1), column \(column): value '\(value)' is not a number, but the column was read as "
                + "numeric from the first batch of rows; give the column's kind in the spec (or read the whole table at once)"
        case .malformed(let s, let row, let m): return "\(s), row \(row + 1): \(m)"
        case .failed(let s, let m): return "\(s): \(m)"
        }
    }
}

