import CreditDomain
import CreditBench
import CreditWire
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct PercentileTests {
    @Test func uniformDistributionPercentiles() {
        // 1..100_000 µs, each once: the p-th percentile is p% of 100 ms.
        var r = LatencyRecorder()
        for us in 1...100_000 { r.record(nanoseconds: UInt64(us) * 1000) }
        let s = r.summary
        #expect(s.count == 100_000)
        #expect(abs(s.p50Micros - 50_000) / 50_000 < 0.002)
        #expect(abs(s.p90Micros - 90_000) / 90_000 < 0.002)
        #expect(abs(s.p99Micros - 99_000) / 99_000 < 0.002)
        #expect(abs(s.p999Micros - 99_900) / 99_900 < 0.002)
        #expect(abs(s.maxMicros - 100_000) / 100_000 < 0.002)
        #expect(abs(s.meanMicros - 50_000.5) / 50_000 < 0.002)
    }

    @Test func mergedRecordersAndOutliers() {
        // 990 fast (10 µs) + 10 slow (5 ms) across two recorders: p50/p90 fast, p99.9 and max slow.
        var a = LatencyRecorder(), b = LatencyRecorder()
        for _ in 0..<990 { a.record(nanoseconds: 10_000) }
        for _ in 0..<10 { b.record(nanoseconds: 5_000_000) }
        a.merge(b)
        let s = a.summary
        #expect(s.count == 1000)
        #expect(abs(s.p50Micros - 10) < 0.05 && abs(s.p90Micros - 10) < 0.05 && abs(s.p99Micros - 10) < 0.05)
        #expect(abs(s.p999Micros - 5000) / 5000 < 0.002)
        #expect(abs(s.maxMicros - 5000) / 5000 < 0.002)
    }

    @Test func emptyRecorderSummary() {
        #expect(LatencyRecorder().summary.count == 0)
    }
}

@Suite struct ScheduleTests {
    @Test func intendedTimesInterleaveConnections() {
        // 1000 req/s over 2 connections: connection 0 at 0, 2, 4 ms ...; connection 1 at 1, 3, 5 ms.
        let s0 = OpenLoopSchedule(start: 1_000, ratePerSecond: 1000, connections: 2, connection: 0)
        let s1 = OpenLoopSchedule(start: 1_000, ratePerSecond: 1000, connections: 2, connection: 1)
        #expect((0..<4).map { s0.intendedSendTime($0) } == [1_000, 2_001_000, 4_001_000, 6_001_000])
        #expect((0..<4).map { s1.intendedSendTime($0) } == [1_001_000, 3_001_000, 5_001_000, 7_001_000])
        // In 10 ms: 5 sends each (0,2,4,6,8 and 1,3,5,7,9 ms).
        #expect(s0.requestCount(within: 10_000_000) == 5)
        #expect(s1.requestCount(within: 10_000_000) == 5)
        #expect(s1.requestCount(within: 10_000_001) == 5)
        #expect(s0.requestCount(within: 10_000_001) == 6)
    }

    @Test func fractionalIntervalsDoNotDrift() {
        // 3 req/s: intervals of 333,333,333.3 ns; the 3000th send is at exactly 1000 s.
        let s = OpenLoopSchedule(start: 0, ratePerSecond: 3, connections: 1, connection: 0)
        #expect(s.intendedSendTime(3000) == 1_000_000_000_000)
        #expect(s.requestCount(within: 1_000_000_000) == 3)
    }

    @Test func outcomeCounting() {
        var o = OutcomeCounts()
        o.add(.ok); o.add(.ok); o.add(.error("INVALID_ARGUMENT"))
        var p = OutcomeCounts()
        p.add(.error("INVALID_ARGUMENT")); p.add(.error("UNAVAILABLE"))
        o.merge(p)
        #expect(o.ok == 2)
        #expect(o.errors == ["INVALID_ARGUMENT": 2, "UNAVAILABLE": 1])
        #expect(o.errorTotal == 3)
    }
}

@Suite struct WireScanTests {
    @Test func requestTemplatePatchesIds() throws {
        let req = Request(id: RequestTemplate.idBase, .score(.row(ApplicantRow(id: "a", fields: [("x", .number(1.5))]))))
        let t = try RequestTemplate(req, applicants: 1)
        for seq in [0, 1, 127, 128, 1 << 20, (1 << 34) - (1 << 28) - 1] {
            var f = t.frame
            f.withUnsafeMutableBytes { RequestTemplate.patch($0, sequence: seq) }
            #expect(f.count == t.frame.count)
            let head = f.withUnsafeBytes { ProtoScan.head(UnsafeRawBufferPointer(rebasing: $0[4...])) }
            #expect(head?.requestId == RequestTemplate.id(forSequence: seq))
            // The real codec agrees.
            let payload = Array(f[4...])
            let decoded = try payload.withUnsafeBytes { try UnpackedRequestProbe.id($0) }
            #expect(decoded == RequestTemplate.id(forSequence: seq))
        }
    }

    @Test func responseHeadReadsIdAndStatus() throws {
        let enc = ResponseEncoder()
        let bytes = Array(enc.encode(Response(id: 77, status: Status(.resourceExhausted, "queue full"))))
        let head = bytes.withUnsafeBytes { ProtoScan.head($0) }
        #expect(head == ProtoScan.Head(requestId: 77, code: StatusCode.resourceExhausted.rawValue))
        #expect(ProtoScan.statusName(head!.code) == "\(StatusCode.resourceExhausted)")
        let ok = Array(enc.encode(Response(id: 5, status: .ok)))
        #expect(ok.withUnsafeBytes { ProtoScan.head($0) } == ProtoScan.Head(requestId: 5, code: 0))
        // Truncated length-delimited field → not a message.
        let broken: [UInt8] = [0x08, 0x05, 0x12, 0x09, 0x08]
        #expect(broken.withUnsafeBytes { ProtoScan.head($0) } == nil)
    }
}

/// Decodes a Request's id with the real codec (CreditWire).
enum UnpackedRequestProbe {
    static func id(_ bytes: UnsafeRawBufferPointer) throws -> UInt64 {
        struct NotARequest: Error {}
        guard let r = UnpackedRequest(bytes) else { throw NotARequest() }
        return r.requestId
    }
}
