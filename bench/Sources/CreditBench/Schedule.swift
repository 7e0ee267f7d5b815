/// Open-loop schedule: a fixed total rate spread over `connections` connections, requests
/// interleaved so that the union of all connections' sends is evenly spaced. The latency of
/// request `i` is measured from `intendedSendTime(i)`, not from when it was actually sent, so
/// a stalled sender or server is charged for the whole delay (no coordinated omission).
public struct OpenLoopSchedule: Sendable, Equatable {
    /// Start of the schedule (monotonic nanoseconds).
    public var start: UInt64
    /// Nanoseconds between two sends of the whole generator (1e9 / rate).
    public var intervalNanos: Double
    public var connections: Int
    public var connection: Int

    public init(start: UInt64, ratePerSecond: Double, connections: Int, connection: Int) {
        precondition(ratePerSecond > 0 && connections > 0 && (0..<connections).contains(connection))
        self.start = start
        self.intervalNanos = 1e9 / ratePerSecond
        self.connections = connections
        self.connection = connection
    }

    /// Intended send time of this connection's `i`-th request.
    public func intendedSendTime(_ i: Int) -> UInt64 {
        start + UInt64((Double(i * connections + connection) * intervalNanos).rounded())
    }

    /// How many of this connection's requests fall in `[start, start + nanos)`.
    public func requestCount(within nanos: UInt64) -> Int {
        var n = 0
        // Closed form, then corrected for rounding at the edge.
        n = Swift.max(0, Int((Double(nanos) / intervalNanos - Double(connection)) / Double(connections)) - 1)
        while intendedSendTime(n) < start + nanos { n += 1 }
        return n
    }
}

/// Outcome counts of a run: OK plus every other status (by name), transport errors included.
public struct OutcomeCounts: Codable, Sendable, Equatable {
    public var ok: UInt64 = 0
    public var errors: [String: UInt64] = [:]
    public init() {}
    public mutating func add(_ status: ResponseStatus) {
        switch status {
        case .ok: ok += 1
        case .error(let name): errors[name, default: 0] += 1
        }
    }
    public mutating func merge(_ other: OutcomeCounts) {
        ok += other.ok
        for (k, v) in other.errors { errors[k, default: 0] += v }
    }
    public var errorTotal: UInt64 { errors.values.reduce(0, +) }
}

public enum ResponseStatus: Sendable, Equatable {
    case ok
    case error(String)
}
