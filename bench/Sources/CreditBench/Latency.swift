import CreditDomain
import Histogram

/// Records latencies in nanoseconds (summarised as CreditDomain's `LatencySummary`, µs) into an HDR histogram (1 ns .. 100 s, 3 digits).
/// One recorder per thread; `merge` them at the end.
public struct LatencyRecorder: Sendable {
    public private(set) var histogram = Histogram<UInt64>(highestTrackableValue: 100_000_000_000,
                                                          numberOfSignificantValueDigits: .three)
    public init() {}

    public mutating func record(nanoseconds: UInt64) {
        _ = histogram.record(Swift.min(Swift.max(nanoseconds, 1), 100_000_000_000))
    }

    public mutating func merge(_ other: LatencyRecorder) { histogram.add(other.histogram) }

    public var count: UInt64 { histogram.totalCount }

    public var summary: LatencySummary {
        let h = histogram
        func us(_ v: UInt64) -> Double { Double(v) / 1000 }
        var s = LatencySummary()
        guard h.totalCount > 0 else { return s }
        s.count = h.totalCount
        s.p50Micros = us(h.valueAtPercentile(50))
        s.p90Micros = us(h.valueAtPercentile(90))
        s.p99Micros = us(h.valueAtPercentile(99))
        s.p999Micros = us(h.valueAtPercentile(99.9))
        s.maxMicros = us(h.max)
        s.meanMicros = h.mean / 1000
        return s
    }
}
