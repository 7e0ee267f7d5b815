import Histogram

/// Latency percentiles of one run, in microseconds (from an HDR histogram of nanoseconds,
/// 3 significant digits).
public struct LatencySummary: Codable, Sendable, Equatable {
    public var count: UInt64
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public var mean: Double
}

/// Records latencies in nanoseconds into an HDR histogram (1 ns .. 100 s, 3 digits).
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
        guard h.totalCount > 0 else { return LatencySummary(count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0) }
        return LatencySummary(count: h.totalCount, p50: us(h.valueAtPercentile(50)), p90: us(h.valueAtPercentile(90)),
                              p99: us(h.valueAtPercentile(99)), p999: us(h.valueAtPercentile(99.9)),
                              max: us(h.max), mean: h.mean / 1000)
    }
}
