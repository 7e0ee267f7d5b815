import CreditDomain

/// Everything a `DaemonClient` call can throw (the async API throws only this type).
public enum DaemonError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The daemon answered with a non-OK status (its code and message).
    case status(StatusCode, String)
    /// The address could not be parsed.
    case badAddress(String)
    /// No connection could be made (after retrying for the reconnect window).
    case connect(address: String, reason: String)
    /// The connection broke while the request was in flight (the daemon may or may not have
    /// processed it). Scoring is idempotent, so `DaemonClient` retries these up to `retries`.
    case connectionLost(String)
    /// The per-request deadline passed before the answer came.
    case deadlineExceeded
    /// The calling task was cancelled.
    case cancelled
    /// The daemon sent something that is not a valid response.
    case protocolError(String)
    /// The client was closed.
    case closed

    /// The daemon's status code, when the daemon answered.
    public var statusCode: StatusCode? { if case .status(let c, _) = self { return c }; return nil }

    public var description: String {
        switch self {
        case .status(let c, let m): m.isEmpty ? "daemon answered \(c)" : "daemon answered \(c): \(m)"
        case .badAddress(let m): "bad daemon address \(m)"
        case .connect(let a, let r): "cannot connect to \(a): \(r)"
        case .connectionLost(let m): "connection lost: \(m)"
        case .deadlineExceeded: "deadline exceeded before the daemon answered"
        case .cancelled: "cancelled"
        case .protocolError(let m): "protocol error: \(m)"
        case .closed: "the client is closed"
        }
    }
}
