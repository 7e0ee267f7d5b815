import CreditDomain
import CreditBench
import CreditWire
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real frame server on a Unix socket for the generator's tests: answers every request
/// with a real `Response` (CreditWire's encoder); every third request (by sequence number)
/// gets INVALID_ARGUMENT; one chosen request stalls the connection for `stallMillis`.
final class ScriptedServer: @unchecked Sendable {
    let path: String
    let listenFd: Int32
    let lock = NSLock()
    private var _answered = 0
    var answered: Int { lock.lock(); defer { lock.unlock() }; return _answered }
    let stallSequence: Int?
    let stallMillis: UInt32

    init(stallSequence: Int? = nil, stallMillis: UInt32 = 0) throws {
        self.stallSequence = stallSequence
        self.stallMillis = stallMillis
        path = NSTemporaryDirectory() + "cb-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        listenFd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in raw.copyBytes(from: bytes); raw[bytes.count] = 0 }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        precondition(rc == 0 && listen(listenFd, 16) == 0)
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    func stop() { shutdown(listenFd, Int32(SHUT_RDWR)); close(listenFd); unlink(path) }

    private func acceptLoop() {
        while true {
            let fd = accept(listenFd, nil, nil)
            if fd < 0 { return }
            let t = Thread { [self] in serve(fd) }
            t.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        let encoder = ResponseEncoder()
        var header = [UInt8](repeating: 0, count: 4)
        while true {
            guard readFull(fd, &header, 4) else { return }
            let len = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
            var payload = [UInt8](repeating: 0, count: len)
            guard readFull(fd, &payload, len) else { return }
            let id = payload.withUnsafeBytes { ProtoScan.head($0)?.requestId } ?? 0
            let seq = Int(id) - Int(RequestTemplate.idBase)
            if seq == stallSequence { usleep(stallMillis * 1000) }
            let status = seq % 3 == 2 ? Status(.invalidArgument, "scripted") : .ok
            let frame = Frame.encode(Array(encoder.encode(Response(id: id, status: status))))
            lock.lock(); _answered += 1; lock.unlock()
            let ok = frame.withUnsafeBytes { b in send(fd, b.baseAddress, b.count, Int32(MSG_NOSIGNAL)) == b.count }
            if !ok { return }
        }
    }

    private func readFull(_ fd: Int32, _ buf: inout [UInt8], _ n: Int) -> Bool {
        var off = 0
        while off < n {
            let r = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + off, n - off, 0) }
            if r <= 0 { return false }
            off += r
        }
        return true
    }
}

func oneApplicantTemplate() throws -> RequestTemplate {
    try RequestTemplate(Request(id: RequestTemplate.idBase,
                                .score(.row(ApplicantRow(id: "a", fields: [("person_age", .number(30))])))), applicants: 1)
}

@Suite(.serialized) struct LoadGeneratorTests {
    @Test func closedLoopCountsEveryAnswerAndErrorsByStatus() throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        let r = try runLoad(LoadSpec(endpoint: .unix(path: server.path), payload: .frames(try oneApplicantTemplate()),
                                     mode: .closed(connections: 1), warmupSeconds: 0, measureSeconds: 0.3), target: "scripted")
        let n = server.answered
        #expect(n > 10)
        // No warm-up: every answered request is counted, every third one as INVALID_ARGUMENT.
        #expect(r.requests == UInt64(n))
        #expect(r.outcomes.errors == ["\(StatusCode.invalidArgument)": UInt64(n / 3)])
        #expect(r.outcomes.ok == UInt64(n - n / 3))
        #expect(r.latencyMicros.count == UInt64(n))
        #expect(r.applicantsPerSecond == Double(r.outcomes.ok) / 0.3)
        #expect(r.lost == 0)
    }

    @Test func warmupIsDiscarded() throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        let r = try runLoad(LoadSpec(endpoint: .unix(path: server.path), payload: .frames(try oneApplicantTemplate()),
                                     mode: .closed(connections: 2), warmupSeconds: 0.2, measureSeconds: 0.2), target: "scripted")
        #expect(r.requests > 0)
        #expect(r.requests < UInt64(server.answered))
        #expect(r.latencyMicros.count == r.requests)
    }

    @Test func openLoopMeasuresFromIntendedSendTime() throws {
        // 5000 req/s: warm-up = sequences 0..<500, measured 500..<2000. Request 1000 stalls the
        // server for 60 ms: the requests intended during the stall wait behind it, and the open
        // loop charges them from their intended send time. ≥ 250 of the 1500 measured requests
        // (those intended in the first 50 ms of the stall) have latency ≥ 10 ms (16.7%), so p90 ≥ 10 ms —
        // a lower bound that a slower machine can only raise.
        let server = try ScriptedServer(stallSequence: 1000, stallMillis: 60)
        defer { server.stop() }
        let r = try runLoad(LoadSpec(endpoint: .unix(path: server.path), payload: .frames(try oneApplicantTemplate()),
                                     mode: .open(ratePerSecond: 5000, connections: 1), warmupSeconds: 0.1, measureSeconds: 0.3),
                            target: "scripted")
        #expect(r.lost == 0)
        #expect(abs(Int(r.requests) - 1500) <= 2)
        #expect(abs(server.answered - 2000) <= 2)
        #expect(r.latencyMicros.count == r.requests)
        #expect(r.latencyMicros.maxMicros >= 60_000 * 0.99)
        #expect(r.latencyMicros.p90Micros >= 10_000)
        // Errors by status come through the open loop too (every third sequence number).
        let invalid = r.outcomes.errors["\(StatusCode.invalidArgument)"] ?? 0
        #expect(abs(Int(invalid) - 500) <= 2)
    }
}
