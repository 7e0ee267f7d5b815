import CreditCore
import CreditDomain
import CreditNet
import CreditServer
import CreditTestSupport
import CreditWire
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Slots stay with clients that use them: stalled, trickling and babbling connections are
/// cut or evicted, and a working client is neither refused nor slowed.
@Suite struct StallTests {
    /// A frame whose bytes stop coming is cut after the frame timeout, though bytes trickle.
    @Test func trickledFrameIsCutAtTheFrameTimeout() throws {
        let dir = TempDir()
        let daemon = try startDaemon(dir, tcp: false) { $0.frameTimeoutSeconds = 0.5 }
        defer { daemon.stop() }
        let client = try WireTestClient(daemon.unixAddress, timeoutSeconds: 0.2)
        let started = Date()
        var cut = false
        for byte in [UInt8](Frame.encode(Request(id: 1, .health).serialized())) {
            do { try client.sendRaw([byte]) } catch { cut = true; break }
            Thread.sleep(forTimeInterval: 0.2)
            if case .failure(.closed) = Result(catching: { () throws(ClientError) in try client.receiveFrame() }) { cut = true; break }
        }
        #expect(cut)
        #expect(Date().timeIntervalSince(started) < 2)
    }

    /// Empty frames (four zero bytes) are answered, but a run of them closes the connection.
    @Test func runOfUnreadableRequestsClosesTheConnection() throws {
        let dir = TempDir()
        let daemon = try startDaemon(dir, tcp: false) { $0.maxProtocolErrors = 3 }
        defer { daemon.stop() }
        let client = try WireTestClient(daemon.unixAddress)
        #expect(try client.call(Request(id: 1, .health)).health?.ready == true)
        try client.sendRaw([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        let (seconds, frames) = waitForClose(client, timeout: 5)
        #expect(seconds != nil)
        #expect(frames.count == 3 && frames.allSatisfy { $0.status.code == .invalidArgument })
    }

    /// 1,000 connections from the same peer that send nothing or half a frame, while a
    /// client from that peer scores 10,000 single applicants: none of its requests is refused
    /// and its p99 stays under 10 ms.
    @Test func thousandStalledConnectionsDoNotLockOutAWorkingClient() throws {
        let dir = TempDir()
        let daemon = try startDaemon(dir, tcp: false) { c in
            c.maxConnections = 256
            c.maxConnectionsPerPeer = 128
        }
        defer { daemon.stop() }
        let good = try WireTestClient(daemon.unixAddress)
        #expect(try good.call(Request(id: 1, .health)).health?.ready == true)
        final class Attack: @unchecked Sendable { var fds: [Int32] = []; var refused = 0 }
        let attack = Attack()
        let attacker = Thread {
            for i in 0..<1000 {
                guard let fd = try? Sockets.connect(daemon.unixAddress) else { attack.refused += 1; continue }
                if i % 2 == 0 { _ = [UInt8(0), 0].withUnsafeBytes { Sockets.writeAll(fd, $0) } }   // half a header
                attack.fds.append(fd)
                usleep(500)
            }
        }
        attacker.start()
        var latencies: [UInt64] = []
        latencies.reserveCapacity(10_000)
        var refused = 0
        for i in 0..<10_000 {
            let t0 = SystemClock.monotonicNanos()
            let r = try good.call(Request(id: UInt64(i + 2), .score(.row(oneApplicant))))
            latencies.append(SystemClock.monotonicNanos() - t0)
            if r.status.code != .ok { refused += 1 }
        }
        while !attacker.isFinished { usleep(10_000) }
        latencies.sort()
        let p99 = Double(latencies[latencies.count * 99 / 100]) / 1e6
        #expect(refused == 0)
        #expect(p99 < 10, "p99 \(p99) ms")
        #expect(daemon.connectionCount <= 256 + 1)
        for fd in attack.fds { close(fd) }
        print("StallTests: 10,000 requests beside 1,000 stalled connections: p99 \(String(format: "%.3f", p99)) ms, \(attack.fds.count) attacker connects")
    }
}
