/// The one address grammar of the system, for listening (`creditd --listen`) and connecting
/// (`credit score --connect`, the clients, the benchmark):
///
/// - `unix:PATH`            a Unix stream socket;
/// - `tcp:HOST:PORT`        HOST a name (resolved with getaddrinfo), an IPv4 literal, or an
///                          IPv6 literal in brackets (`tcp:[::1]:7700`);
/// - `tcp:PORT`             127.0.0.1.
///
/// Port 0 is allowed for listening (the kernel picks one) and refused for connecting.
public enum SocketAddress: Sendable, Hashable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: UInt16)

    public init(parsing text: String) throws(SocketError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { throw SocketError.badAddress(text, "empty socket path") }
            self = .unix(path: path)
            return
        }
        guard text.hasPrefix("tcp:") else { throw SocketError.badAddress(text, "expected unix:PATH or tcp:HOST:PORT") }
        let rest = text.dropFirst(4)
        var host = "127.0.0.1"
        var portText = rest
        if rest.hasPrefix("[") {
            // [IPv6]:PORT
            guard let close = rest.firstIndex(of: "]") else { throw SocketError.badAddress(text, "missing ']' after the IPv6 address") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else { throw SocketError.badAddress(text, "expected :PORT after ']'") }
            portText = after.dropFirst()
        } else if let colon = rest.lastIndex(of: ":") {
            let h = rest[..<colon]
            guard !h.contains(":") else {
                throw SocketError.badAddress(text, "an IPv6 address goes in brackets: tcp:[ADDRESS]:PORT")
            }
            if !h.isEmpty { host = String(h) }
            portText = rest[rest.index(after: colon)...]
        }
        guard !host.isEmpty else { throw SocketError.badAddress(text, "empty host") }
        guard let port = UInt16(portText) else { throw SocketError.badAddress(text, "port '\(portText)' is not 0...65535") }
        self = .tcp(host: host, port: port)
    }

    /// A list of addresses separated by commas (`unix:/run/a.sock,tcp:10.0.0.2:7700`), each in
    /// the grammar above (so a socket path cannot hold a comma). Spaces around items are
    /// ignored; an empty list or item is an error.
    public static func list(parsing text: String) throws(SocketError) -> [SocketAddress] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { item in
            String(item.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
        }
        guard !items.contains(where: \.isEmpty) else { throw SocketError.badAddress(text, "empty address in the list") }
        var out: [SocketAddress] = []
        for item in items { out.append(try SocketAddress(parsing: item)) }
        return out
    }

    public var description: String {
        switch self {
        case .unix(let p): "unix:\(p)"
        case .tcp(let h, let p): h.contains(":") ? "tcp:[\(h)]:\(p)" : "tcp:\(h):\(p)"
        }
    }

    public var isUnix: Bool { if case .unix = self { return true }; return false }

    /// "unix" or "tcp" (metrics labels, logs).
    public var transport: String { isUnix ? "unix" : "tcp" }
}
