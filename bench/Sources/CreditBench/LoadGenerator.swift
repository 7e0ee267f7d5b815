import CreditDomain
import CreditCore
import CreditNet
import Foundation

/// What the generator sends: creditd/floor frames (request id patched per request) or a
/// fixed HTTP/1.1 request (closed loop only: HTTP/1.1 answers in order, one in flight).
public enum Payload: Sendable {
    case frames(RequestTemplate)
    case http(request: [UInt8], applicants: Int)

    public var applicants: Int {
        switch self {
        case .frames(let t): t.applicants
        case .http(_, let a): a
        }
    }
    public var bytesPerRequest: Int {
        switch self {
        case .frames(let t): t.frame.count
        case .http(let r, _): r.count
        }
    }
}

public enum LoadMode: Sendable, Equatable, CustomStringConvertible {
    /// `connections` connections, each with one request in flight (send, wait, send ...).
    case closed(connections: Int)
    /// A fixed total request rate over `connections` connections; latency from the intended
    /// send time.
    case open(ratePerSecond: Double, connections: Int)

    public var connections: Int {
        switch self { case .closed(let c): c; case .open(_, let c): c }
    }
    public var description: String {
        switch self {
        case .closed(let c): "closed, \(c) conn"
        case .open(let r, let c): "open \(Int(r))/s, \(c) conn"
        }
    }
}

public struct LoadSpec: Sendable {
    public var endpoint: SocketAddress
    public var payload: Payload
    public var mode: LoadMode
    public var warmupSeconds: Double
    public var measureSeconds: Double
    /// Open loop: the sender sleeps until this long before the intended time, then spins.
    public var spinMicros: Double = 50

    public init(endpoint: SocketAddress, payload: Payload, mode: LoadMode, warmupSeconds: Double, measureSeconds: Double) {
        self.endpoint = endpoint
        self.payload = payload
        self.mode = mode
        self.warmupSeconds = warmupSeconds
        self.measureSeconds = measureSeconds
    }
}

/// Figures of one run (warm-up discarded).
public struct LoadResult: Codable, Sendable {
    public var target: String
    public var transport: String
    public var mode: String
    public var connections: Int
    public var ratePerSecond: Double?
    public var applicantsPerRequest: Int
    public var requestBytes: Int
    public var measuredSeconds: Double
    /// Requests answered (any status) within the measured window.
    public var requests: UInt64
    public var requestsPerSecond: Double
    /// Applicants in OK answers per second.
    public var applicantsPerSecond: Double
    public var latencyMicros: LatencySummary
    public var outcomes: OutcomeCounts
    /// Open loop: sends that left more than 1 ms after their intended time (generator or
    /// server fell behind; their latency includes the wait).
    public var lateSends: UInt64
    /// Open loop: requests never answered before the receive timeout.
    public var lost: UInt64
}

/// Per-connection tallies, merged at the end.
final class ConnectionTally: @unchecked Sendable {
    var recorder = LatencyRecorder()
    var outcomes = OutcomeCounts()
    var lateSends: UInt64 = 0
    var lost: UInt64 = 0
    var failure: String?
}

func runThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    var threads: [Thread] = []
    for i in 0..<n {
        group.enter()
        let t = Thread { body(i); group.leave() }
        t.stackSize = 1 << 20
        threads.append(t)
    }
    for t in threads { t.start() }
    group.wait()
}

/// Classifies one creditd/floor response frame against the id that was expected.
@inline(__always)
func classify(_ frame: UnsafeRawBufferPointer, expectedId: UInt64?) -> (ResponseStatus, UInt64?) {
    guard let head = ProtoScan.head(frame) else { return (.error("MALFORMED_RESPONSE"), nil) }
    if let e = expectedId, head.requestId != e { return (.error("WRONG_REQUEST_ID"), head.requestId) }
    return (head.code == 0 ? .ok : .error(ProtoScan.statusName(head.code)), head.requestId)
}

@inline(__always)
func sleepUntil(_ t: UInt64, spinNanos: UInt64) {
    let now = SystemClock.monotonicNanos()
    if t > now + spinNanos {
        let wake = t - spinNanos
        var ts = timespec(tv_sec: Int(wake / 1_000_000_000), tv_nsec: Int(wake % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }
    while SystemClock.monotonicNanos() < t {}
}

/// Runs one load against `spec.endpoint`. `target` names the server in the result.
public func runLoad(_ spec: LoadSpec, target: String) throws -> LoadResult {
    let connections = spec.mode.connections
    precondition(connections > 0)
    if case .http = spec.payload, case .open = spec.mode {
        preconditionFailure("HTTP payloads are closed-loop only")
    }
    // Connect first so that connection setup is outside the timed window.
    let conns = try (0..<connections).map { _ in try BenchConnection(spec.endpoint) }
    let tallies = (0..<connections).map { _ in ConnectionTally() }
    let start = SystemClock.monotonicNanos() + 2_000_000
    let warmEnd = start + UInt64(spec.warmupSeconds * 1e9)
    let end = warmEnd + UInt64(spec.measureSeconds * 1e9)
    nonisolated(unsafe) let unsafeConns = conns

    switch spec.mode {
    case .closed:
        runThreads(connections) { c in
            closedLoop(unsafeConns[c], payload: spec.payload, tally: tallies[c], start: start, warmEnd: warmEnd, end: end)
        }
    case .open(let rate, _):
        guard case .frames(let template) = spec.payload else { fatalError() }
        runThreads(connections) { c in
            let schedule = OpenLoopSchedule(start: start, ratePerSecond: rate, connections: connections, connection: c)
            openLoop(unsafeConns[c], template: template, schedule: schedule, tally: tallies[c], warmEnd: warmEnd, end: end,
                     spinNanos: UInt64(spec.spinMicros * 1000))
        }
    }

    var recorder = LatencyRecorder()
    var outcomes = OutcomeCounts()
    var late: UInt64 = 0, lost: UInt64 = 0
    for t in tallies {
        recorder.merge(t.recorder)
        outcomes.merge(t.outcomes)
        late += t.lateSends
        lost += t.lost
    }
    let seconds = spec.measureSeconds
    let answered = outcomes.ok + outcomes.errorTotal
    var rate: Double? = nil
    if case .open(let r, _) = spec.mode { rate = r }
    return LoadResult(target: target, transport: spec.endpoint.transport, mode: "\(spec.mode)",
                      connections: connections, ratePerSecond: rate, applicantsPerRequest: spec.payload.applicants,
                      requestBytes: spec.payload.bytesPerRequest, measuredSeconds: seconds, requests: answered,
                      requestsPerSecond: Double(answered) / seconds,
                      applicantsPerSecond: Double(outcomes.ok) * Double(spec.payload.applicants) / seconds,
                      latencyMicros: recorder.summary, outcomes: outcomes, lateSends: late, lost: lost)
}

func closedLoop(_ conn: BenchConnection, payload: Payload, tally: ConnectionTally, start: UInt64, warmEnd: UInt64, end: UInt64) {
    switch payload {
    case .frames(let template):
        var frame = template.frame
        sleepUntil(start, spinNanos: 0)
        frame.withUnsafeMutableBytes { buf in
            var seq = 0
            while true {
                let t0 = SystemClock.monotonicNanos()
                if t0 >= end { break }
                RequestTemplate.patch(buf, sequence: seq)
                let expected = RequestTemplate.id(forSequence: seq)
                seq += 1
                guard conn.writeAll(UnsafeRawBufferPointer(buf)) else {
                    tally.outcomes.add(.error("SEND_FAILED")); tally.failure = "send failed"; return
                }
                guard let response = conn.readFrame() else {
                    tally.outcomes.add(.error("NO_RESPONSE")); tally.failure = "no response"; return
                }
                let t1 = SystemClock.monotonicNanos()
                let (status, _) = classify(response, expectedId: expected)
                if t0 >= warmEnd {
                    tally.recorder.record(nanoseconds: t1 - t0)
                    tally.outcomes.add(status)
                }
            }
        }
    case .http(let request, _):
        sleepUntil(start, spinNanos: 0)
        request.withUnsafeBytes { buf in
            while true {
                let t0 = SystemClock.monotonicNanos()
                if t0 >= end { break }
                guard conn.writeAll(buf) else { tally.outcomes.add(.error("SEND_FAILED")); return }
                guard let code = conn.readHTTPStatus() else { tally.outcomes.add(.error("NO_RESPONSE")); return }
                let t1 = SystemClock.monotonicNanos()
                if t0 >= warmEnd {
                    tally.recorder.record(nanoseconds: t1 - t0)
                    tally.outcomes.add(code == 200 ? .ok : .error("HTTP_\(code)"))
                }
            }
        }
    }
}

func openLoop(_ conn: BenchConnection, template: RequestTemplate, schedule: OpenLoopSchedule, tally: ConnectionTally,
              warmEnd: UInt64, end: UInt64, spinNanos: UInt64) {
    let total = schedule.requestCount(within: end - schedule.start)
    nonisolated(unsafe) let c = conn
    let sent = ManagedAtomicCounter()
    // Sender thread: sends request i at its intended time (or at once when behind).
    let sender = Thread {
        var frame = template.frame
        frame.withUnsafeMutableBytes { buf in
            for i in 0..<total {
                let t = schedule.intendedSendTime(i)
                sleepUntil(t, spinNanos: spinNanos)
                if SystemClock.monotonicNanos() > t + 1_000_000 { sent.late += 1 }
                RequestTemplate.patch(buf, sequence: i)
                if !c.writeAll(UnsafeRawBufferPointer(buf)) { break }
                sent.count += 1
            }
        }
        sent.finished.signal()
    }
    sender.stackSize = 1 << 20
    sender.start()
    // Receiver (this thread): latency = arrival - intended send time of that id.
    var received = 0
    while received < total {
        guard let frame = conn.readFrame() else { break }
        let now = SystemClock.monotonicNanos()
        received += 1
        let (status, id) = classify(frame, expectedId: nil)
        guard let id, id >= RequestTemplate.idBase, id - RequestTemplate.idBase < UInt64(total) else {
            tally.outcomes.add(status == .ok ? .error("UNKNOWN_REQUEST_ID") : status)
            continue
        }
        let intended = schedule.intendedSendTime(Int(id - RequestTemplate.idBase))
        if intended >= warmEnd {
            tally.recorder.record(nanoseconds: now &- intended)
            tally.outcomes.add(status)
        }
    }
    sent.finished.wait()
    tally.lateSends = sent.late
    tally.lost = UInt64(total - received)
}

/// Sender-side counters of one open-loop connection (written by the sender only, read after
/// it finished).
final class ManagedAtomicCounter: @unchecked Sendable {
    var count = 0
    var late: UInt64 = 0
    let finished = DispatchSemaphore(value: 0)
}
