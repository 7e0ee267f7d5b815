#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The one clock of the system. Two readings, each for its own job:
/// - `monotonicNanos`: durations (latency, timeouts), never jumps with wall-clock changes;
/// - `unixMicros`: request deadlines, which cross process boundaries and so must be wall time.
/// Both are a single `clock_gettime` (no allocation; the serving hot path calls them).
public enum SystemClock {
    /// Nanoseconds of CLOCK_MONOTONIC.
    @inline(__always)
    public static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Microseconds since the Unix epoch (CLOCK_REALTIME).
    @inline(__always)
    public static func unixMicros() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000 &+ UInt64(ts.tv_nsec / 1000)
    }

    /// Seconds elapsed since a `monotonicNanos()` reading.
    @inline(__always)
    public static func secondsSince(_ startNanos: UInt64) -> Double {
        Double(monotonicNanos() &- startNanos) / 1e9
    }
}
