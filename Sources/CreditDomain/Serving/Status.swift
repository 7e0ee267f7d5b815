/// How a service call ended, gRPC-like: every face (protobuf frames, HTTP/JSON) maps
/// these codes onto its own (the wire sends them as they are; HTTP uses a status line).

/// Status codes, gRPC-like (see `Code` in credit.proto).
public enum StatusCode: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case ok = 0
    case invalidArgument = 3
    case deadlineExceeded = 4
    case permissionDenied = 7
    case resourceExhausted = 8
    case `internal` = 13
    case unavailable = 14

    public var description: String {
        switch self {
        case .ok: "OK"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        }
    }
}

public struct Status: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public init(_ code: StatusCode, _ message: String = "") {
        self.code = code
        self.message = message
    }
    public static let ok = Status(.ok)
    public var description: String { message.isEmpty ? "\(code)" : "\(code): \(message)" }
}
