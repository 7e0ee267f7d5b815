import CreditDomain
import Histogram
import Metrics
import Synchronization

/// The methods every face offers (metrics label `method`).
public enum ServiceMethod: Int, Sendable, CaseIterable {
    case score, modelInfo, health, stats, reload
    /// A request that named no method or could not be read.
    case unknown

    public var name: String {
        switch self {
        case .score: "score"
        case .modelInfo: "model_info"
        case .health: "health"
        case .stats: "stats"
        case .reload: "reload"
        case .unknown: "unknown"
        }
    }
}

/// Counters and the latency histogram behind the Stats method (all faces together). One
/// lock, held for a few additions per request.
final class StatsRecorder: Sendable {
    private struct State {
        var requests: UInt64 = 0
        var rowsScored: UInt64 = 0
        var rowErrors: UInt64 = 0
        /// Indexed by `StatusCode.rawValue` (0...14): no hashing on the hot path.
        var byCode = [UInt64](repeating: 0, count: 16)
        // Nanoseconds, 1 ns .. 60 s, two significant digits.
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .two)
        var accepted: UInt64 = 0
        var open: UInt64 = 0
    }
    private let state = Mutex(State())

    func record(code: StatusCode, nanos: UInt64, rowsScored: Int, rowErrors: Int) {
        state.withLock { s in
            s.requests += 1
            s.byCode[Int(code.rawValue)] += 1
            s.rowsScored += UInt64(rowsScored)
            s.rowErrors += UInt64(rowErrors)
            _ = s.latency.record(min(max(nanos, 1), 60_000_000_000))
        }
    }

    func connectionOpened() { state.withLock { $0.accepted += 1; $0.open += 1 } }
    func connectionClosed() { state.withLock { $0.open -= 1 } }

    func snapshot() -> StatsSnapshot {
        state.withLock { s in
            var out = StatsSnapshot()
            out.requests = s.requests
            out.rowsScored = s.rowsScored
            out.rowErrors = s.rowErrors
            for code in StatusCode.allCases where s.byCode[Int(code.rawValue)] > 0 {
                out.byCode[code] = s.byCode[Int(code.rawValue)]
            }
            out.connectionsAccepted = s.accepted
            out.connectionsOpen = s.open
            out.latency.count = s.latency.totalCount
            if s.latency.totalCount > 0 {
                out.latency.meanMicros = s.latency.mean / 1000
                out.latency.p50Micros = Double(s.latency.valueAtPercentile(50)) / 1000
                out.latency.p90Micros = Double(s.latency.valueAtPercentile(90)) / 1000
                out.latency.p99Micros = Double(s.latency.valueAtPercentile(99)) / 1000
                out.latency.maxMicros = Double(s.latency.max) / 1000
            }
            return out
        }
    }
}

/// What one face (protobuf frames, HTTP/JSON) records per request, through swift-metrics
/// (so a Prometheus face, or any other metrics backend, reads it) and into the service's
/// Stats snapshot. Every metric object is made here, once: recording a request looks up
/// arrays and allocates nothing.
///
/// Metrics (labels in brackets):
/// - `credit_requests_total` [face, method, code]
/// - `credit_request_duration_seconds` [face, method] (a timer)
/// - `credit_rows_scored_total`, `credit_row_errors_total` [face]
/// - `credit_decisions_total` [face, decision]
/// - `credit_connections_total`, `credit_connections_open` [face]
public final class FaceMetrics: Sendable {
    public let face: String
    private let stats: StatsRecorder
    /// `[method.rawValue][code.rawValue]`.
    private let requests: [[Counter?]]
    private let durations: [Timer]
    private let rowsScored: Counter
    private let rowErrors: Counter
    private let approved: Counter
    private let refused: Counter
    private let accepted: Counter
    private let open: Meter

    init(face: String, stats: StatsRecorder, factory: any MetricsFactory) {
        self.face = face
        self.stats = stats
        requests = ServiceMethod.allCases.map { m in
            (0..<16).map { raw in
                StatusCode(rawValue: Int32(raw)).map { code in
                    Counter(label: "credit_requests_total",
                            dimensions: [("face", face), ("method", m.name), ("code", code.description)], factory: factory)
                }
            }
        }
        durations = ServiceMethod.allCases.map { m in
            Timer(label: "credit_request_duration_seconds", dimensions: [("face", face), ("method", m.name)],
                  preferredDisplayUnit: .seconds, factory: factory)
        }
        rowsScored = Counter(label: "credit_rows_scored_total", dimensions: [("face", face)], factory: factory)
        rowErrors = Counter(label: "credit_row_errors_total", dimensions: [("face", face)], factory: factory)
        approved = Counter(label: "credit_decisions_total", dimensions: [("face", face), ("decision", "approve")], factory: factory)
        refused = Counter(label: "credit_decisions_total", dimensions: [("face", face), ("decision", "refuse")], factory: factory)
        accepted = Counter(label: "credit_connections_total", dimensions: [("face", face)], factory: factory)
        open = Meter(label: "credit_connections_open", dimensions: [("face", face)], factory: factory)
    }

    /// Records one answered request; `refusedRows` of the `rowsScored` were refused.
    public func record(_ method: ServiceMethod, _ code: StatusCode, nanos: UInt64,
                       rowsScored scored: Int = 0, rowErrors errors: Int = 0, refusedRows: Int = 0) {
        requests[method.rawValue][Int(code.rawValue)]?.increment()
        durations[method.rawValue].recordNanoseconds(Int64(truncatingIfNeeded: min(nanos, UInt64(Int64.max))))
        if scored > 0 {
            rowsScored.increment(by: scored)
            refused.increment(by: refusedRows)
            approved.increment(by: scored - refusedRows)
        }
        if errors > 0 { rowErrors.increment(by: errors) }
        stats.record(code: code, nanos: nanos, rowsScored: scored, rowErrors: errors)
    }

    public func connectionOpened() {
        accepted.increment()
        open.increment()
        stats.connectionOpened()
    }

    public func connectionClosed() {
        open.decrement()
        stats.connectionClosed()
    }
}
