import CreditTestSupport
import CreditNet
import CreditService
import CreditDomain
import CreditCore
import CreditServer
import CreditWire
import Foundation
import Synchronization
import Testing

final class Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Frames for the fuzzer: valid requests, hand-made hostile messages and seeded mutations.
struct FrameFuzzer {
    var rng: SplitMix64
    let seeds: [[UInt8]]
    let maxFrameBytes: Int

    init(seed: UInt64, maxFrameBytes: Int) {
        rng = SplitMix64(seed: seed)
        self.maxFrameBytes = maxFrameBytes
        var s = [[UInt8]]()
        s.append(Request(id: 1, .health).serialized())
        s.append(Request(id: 2, .stats).serialized())
        s.append(Request(id: 3, .modelInfo).serialized())
        s.append(Request(id: 4, .score(.row(oneApplicant))).serialized())
        for (i, n) in [1, 3, 40, 300, 501].enumerated() {
            s.append(Applicants(count: n, seed: UInt64(i), invalidEvery: 3).request(id: UInt64(10 + i)).serialized())
        }
        let weird = ColumnBatch(numeric: [("person_income", [.nan, .infinity, -.infinity, 0, -0.0, .greatestFiniteMagnitude]),
                                          ("loan_amnt", [.nan, 1, .leastNonzeroMagnitude, -1, 1e308, .nan])],
                                categorical: [("person_home_ownership", ["", "RENT", "rent", "\u{0}", String(repeating: "x", count: 300), "OWN"])])
        s.append(Request(id: 20, .score(.columns(weird))).serialized())
        // Absurd counts: a packed double array announcing ~4 GiB; 20,000 empty ids (over the
        // applicant cap); a string field announcing more bytes than the frame holds.
        s.append([0x08, 0x15, 0x52, 0x0c, 0x0a, 0x0a, 0x12, 0x08, 0x0a, 0x01, 0x61, 0x12, 0xff, 0xff, 0xff, 0xff, 0x0f])
        var ids: [UInt8] = []
        for _ in 0..<20_000 { ids += [0x0a, 0x00] }
        s.append([0x08, 0x16, 0x52] + Self.varint(ids.count + 4) + [0x0a] + Self.varint(ids.count) + ids)
        s.append([0x08, 0x17, 0x72, 0xff, 0xff, 0xff, 0xff, 0x07, 0x0a, 0x01])
        // Group wire types and an over-long varint.
        s.append([0x0b, 0x0c, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
        seeds = s
    }

    static func varint(_ n: Int) -> [UInt8] {
        var v = UInt64(n), out = [UInt8]()
        repeat {
            var b = UInt8(v & 0x7f)
            v >>= 7
            if v != 0 { b |= 0x80 }
            out.append(b)
        } while v != 0
        return out
    }

    mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }

    /// One frame (header included). `desync` frames have a header that lies.
    mutating func next() -> (bytes: [UInt8], desync: Bool) {
        let roll = below(1000)
        if roll < 3 {                                   // oversized length: closes the connection
            let n = maxFrameBytes + 1 + below(1 << 20)
            return ([UInt8(n >> 24 & 0xff), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + [1, 2, 3], true)
        }
        var payload: [UInt8]
        if roll < 100 {                                 // pure garbage
            payload = (0..<below(200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        } else {
            payload = seeds[below(seeds.count)]
            if roll >= 300 {                            // mutated
                for _ in 0..<(1 + below(4)) {
                    switch below(6) {
                    case 0: if !payload.isEmpty { payload[below(payload.count)] ^= UInt8(1 << below(8)) }
                    case 1: if !payload.isEmpty { payload[below(payload.count)] = UInt8(truncatingIfNeeded: rng.next()) }
                    case 2: payload = Array(payload.prefix(below(payload.count + 1)))     // truncated message
                    case 3: payload.insert(contentsOf: Self.varint(Int(rng.next() % (1 << 35))), at: below(payload.count + 1))
                    case 4: payload += seeds[below(seeds.count)].prefix(below(64))        // spliced
                    default: if payload.count > 2 { payload.swapAt(below(payload.count), below(payload.count)) }
                    }
                }
            }
        }
        if payload.count > maxFrameBytes { payload = Array(payload.prefix(maxFrameBytes)) }
        if roll < 5 {                                   // header lies about the length
            let lie = max(0, payload.count + below(40) - 20)
            return ([UInt8(lie >> 24 & 0xff), UInt8(lie >> 16 & 0xff), UInt8(lie >> 8 & 0xff), UInt8(lie & 0xff)] + payload, true)
        }
        return (Frame.encode(payload), false)
    }
}

@Suite(.serialized) struct FuzzTests {
    /// Runs the fuzz body below in a child process of this test binary, alone: its memory
    /// check reads the process's RSS, which in the shared test process also counts whatever
    /// other suites (GBDT training on the loan book, ...) hold at that moment.
    @Test func hundredThousandHostileFramesLeaveTheDaemonCorrect() throws {
        if ProcessInfo.processInfo.environment[Self.aloneVariable] != nil {
            try fuzzBody()
            return
        }
        try runAloneInChildProcess("FuzzTests/hundredThousandHostileFramesLeaveTheDaemonCorrect", variable: Self.aloneVariable, marker: "fuzz: ")
    }

    static let aloneVariable = "CREDIT_FUZZ_ALONE"

    func fuzzBody() throws {
        let dir = TempDir()
        let maxFrame = 64 * 1024
        let d = try startDaemon(dir) { c in
            c.maxFrameBytes = maxFrame
            c.maxApplicants = 500
            c.inlineFrameBytes = 4096
            c.queueDepth = 256
            c.idleTimeoutSeconds = 10
            // Fuzz the decoder, not the policy that closes connections after a run of
            // unreadable requests (StallTests covers that).
            c.maxProtocolErrors = Int.max
        }
        defer { d.stop() }
        var fuzzer = FrameFuzzer(seed: 2024, maxFrameBytes: maxFrame)
        struct Tally { var responses = 0; var undecodable = 0; var byCode: [StatusCode: Int] = [:]; var drainErrors: [String] = [] }
        let tally = Mutex(Tally())
        var sent = 0
        var sessions = 0
        var rssAfterWarmup = 0
        let started = Date()
        while sent < 100_000 {
            sessions += 1
            let address = sessions % 5 == 0 ? d.unixAddress : d.tcpAddress
            let client = Unchecked(try WireTestClient(address, timeoutSeconds: 15))
            let drain = Joinable {
                while true {
                    let frame: [UInt8]
                    do throws(ClientError) {
                        frame = try client.value.receiveFrame()
                    } catch {
                        if case .closed = error { return }
                        tally.withLock { $0.drainErrors.append("\(error)") }
                        return
                    }
                    let r = try? Response(decoding: frame)
                    tally.withLock { t in
                        t.responses += 1
                        if let r { t.byCode[r.status.code, default: 0] += 1 } else { t.undecodable += 1 }
                    }
                }
            }
            let length = 500 + fuzzer.below(2500)
            var chunk = [UInt8]()
            var framesInChunk = 0
            var inSession = 0
            sending: while inSession < length {
                let (bytes, desync) = fuzzer.next()
                chunk += bytes
                framesInChunk += 1
                inSession += 1
                if chunk.count > 16 * 1024 || desync || inSession == length {
                    do { try client.value.sendRaw(chunk) } catch { break sending }   // the daemon closed on us
                    sent += framesInChunk
                    framesInChunk = 0
                    chunk.removeAll(keepingCapacity: true)
                    if desync { break sending }   // the stream is out of step: end this session
                }
            }
            if fuzzer.below(10) == 0 {            // sometimes leave half a frame behind
                try? client.value.sendRaw([0, 0, 1, 0, 8, 1])
            }
            client.value.finishSending()
            drain.join()
            client.value.close()
            if sessions == 3 { rssAfterWarmup = vmRSSKiB() }
        }
        let elapsed = Date().timeIntervalSince(started)
        let rssEnd = vmRSSKiB()
        let t = tally.withLock { $0 }
        #expect(t.undecodable == 0, "the daemon sent \(t.undecodable) frames that are not valid Responses")
        #expect(t.drainErrors.isEmpty, "\(t.drainErrors.prefix(3))")
        #expect(t.responses > 50_000, "\(t.responses) responses for \(sent) frames")
        #expect((t.byCode[.invalidArgument] ?? 0) > 10_000 && (t.byCode[.ok] ?? 0) > 10_000, "\(t.byCode)")
        // Memory: the daemon runs alone in this (child) process; growth after warm-up stays
        // under 16 MiB (~1.5 MiB measured), i.e. under ~160 bytes per hostile frame.
        #expect(rssEnd - rssAfterWarmup < 16 * 1024, "RSS grew from \(rssAfterWarmup) KiB to \(rssEnd) KiB")
        // And the next good request gets the right answer.
        let c = try WireTestClient(d.unixAddress)
        let apps = Applicants(count: 25, seed: 77, invalidEvery: 6)
        apps.check(try c.call(apps.request(id: 424242)), bias: -2, modelId: "model-a")
        #expect(try c.call(Request(id: 1, .health)).health?.ready == true)
        print("fuzz: \(sent) frames in \(sessions) sessions, \(t.responses) responses \(t.byCode), \(String(format: "%.1f", elapsed)) s, RSS \(rssAfterWarmup) -> \(rssEnd) KiB")
        #expect(sent >= 100_000)
    }
}
