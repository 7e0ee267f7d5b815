import CreditWire
import Histogram
import Synchronization

/// Counters and the latency histogram behind the Stats method. One lock, held for a few
/// additions per request.
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

    func record(code: StatusCode, nanos: UInt64, rowsScored: Int = 0, rowErrors: Int = 0) {
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
