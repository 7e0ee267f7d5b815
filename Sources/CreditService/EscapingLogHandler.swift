import Foundation
import Logging

/// The daemon's log handler: one line per event on stderr, with every message and metadata
/// value escaped, so client-supplied text (Reload paths, ids, field names, values) can never
/// start a forged line or smuggle terminal control codes. Format:
/// `2026-12-04T01:02:03.456Z notice creditd: model loaded model=abc path="/m/a b.credit"`.
public struct EscapingLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public let label: String
    private let write: @Sendable (String) -> Void

    public init(label: String, write: @escaping @Sendable (String) -> Void = EscapingLogHandler.standardError) {
        self.label = label
        self.write = write
    }

    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data(line.utf8))
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        var line = "\(Self.timestamp()) \(event.level) \(Self.escape(label)): \(Self.escape("\(event.message)"))"
        for key in all.keys.sorted() {
            line += " \(Self.escape(key))=\(Self.value("\(all[key]!)"))"
        }
        write(line + "\n")
    }

    /// Control characters (C0, DEL, C1, line and paragraph separators) and backslashes as
    /// escapes: the result is one printable line.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u.value {
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029:
                out += "\\u{\(String(u.value, radix: 16))}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// A metadata value: escaped, and quoted when it holds a space, a quote or '='.
    static func value(_ s: String) -> String {
        let e = escape(s)
        guard e.isEmpty || e.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) else { return e }
        return "\"" + e.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    private static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(ts.tv_nsec / 1_000_000))
    }
}
