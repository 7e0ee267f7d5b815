import CreditDomain
import Foundation

/// A Markdown table built row by row (cells are already formatted).
public struct MarkdownTable: Sendable {
    public var header: [String]
    public var rows: [[String]] = []
    public init(_ header: [String]) { self.header = header }
    public mutating func add(_ row: [String]) {
        precondition(row.count == header.count, "row has \(row.count) cells, header \(header.count)")
        rows.append(row)
    }
    public var text: String {
        var s = "| " + header.joined(separator: " | ") + " |\n"
        s += "|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for r in rows { s += "| " + r.joined(separator: " | ") + " |\n" }
        return s
    }
}

/// Number formatting for the tables.
public enum Fmt {
    public static func micros(_ v: Double) -> String {
        v >= 10_000 ? String(format: "%.0f", v) : v >= 100 ? String(format: "%.0f", v) : String(format: "%.1f", v)
    }
    public static func count(_ v: Double) -> String {
        if v >= 1e6 { return String(format: "%.2fM", v / 1e6) }
        if v >= 1e4 { return String(format: "%.0fk", v / 1e3) }
        return String(format: "%.0f", v)
    }
    public static func ratio(_ v: Double) -> String {
        v.isFinite ? (v >= 100 ? String(format: "%.0f×", v) : String(format: "%.2f×", v)) : "—"
    }
    public static func errors(_ o: OutcomeCounts) -> String {
        o.errors.isEmpty ? "0" : o.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}

public extension LoadResult {
    /// The standard row: target, transport, shape, mode, p50 … max, req/s, applicants/s, errors.
    static let tableHeader = ["target", "transport", "applicants/req", "mode", "p50 µs", "p90 µs", "p99 µs",
                              "p99.9 µs", "max µs", "req/s", "applicants/s", "errors"]
    var tableRow: [String] {
        let l = latencyMicros
        return [target, transport, "\(applicantsPerRequest)", mode, Fmt.micros(l.p50Micros), Fmt.micros(l.p90Micros),
                Fmt.micros(l.p99Micros), Fmt.micros(l.p999Micros), Fmt.micros(l.maxMicros), Fmt.count(requestsPerSecond),
                Fmt.count(applicantsPerSecond), Fmt.errors(outcomes) + (lost > 0 ? ", lost \(lost)" : "")]
    }
}

/// JSON with sorted keys, pretty printed.
public func prettyJSON<T: Encodable>(_ value: T) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: try e.encode(value), as: UTF8.self)
}
