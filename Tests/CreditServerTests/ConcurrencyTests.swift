import CreditCore
import CreditTestSupport
import CreditNet
import CreditService
import CreditDomain
import CreditServer
import CreditWire
import Foundation
import Synchronization
import Testing

/// Runs `body` on a new thread; `join()` waits for it.
final class Joinable: Sendable {
    private let done = DispatchSemaphore(value: 0)
    init(_ body: @escaping @Sendable () -> Void) {
        let done = self.done
        Thread { body(); done.signal() }.start()
    }
    func join() { done.wait() }
}

@Suite(.serialized) struct ConcurrencyTests {
    @Test func pipelinedRequestsAreMatchedById() throws {
        let dir = TempDir()
        let d = try startDaemon(dir) { $0.inlineFrameBytes = 2048 }   // big batches go to workers
        defer { d.stop() }
        let c = try WireTestClient(d.unixAddress)
        let count = 400
        let batches = (0..<count).map { i in Applicants(count: i % 5 == 0 ? 300 : 1 + i % 7, seed: UInt64(i), invalidEvery: 5) }
        let frames = batches.enumerated().map { $0.element.request(id: UInt64(1000 + $0.offset)).framed() }
        let fd = c.fd
        let sender = Joinable {
            for f in frames { _ = f.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) } }
        }
        var seen = Set<UInt64>()
        var order = [UInt64]()
        for _ in 0..<count {
            let r = try c.receive()
            let i = Int(r.requestId) - 1000
            try #require(i >= 0 && i < count && seen.insert(r.requestId).inserted, "unexpected id \(r.requestId)")
            order.append(r.requestId)
            #expect(batches[i].problem(r, bias: -2, modelId: "model-a") == nil)
        }
        sender.join()
        #expect(seen.count == count)
        // Small frames are answered inline while big ones wait for workers: not FIFO.
        #expect(order != order.sorted())
    }

    @Test func reloadSwapsModelsWithoutLosingOrMixing() throws {
        let dir = TempDir()
        let d = try startDaemon(dir) { $0.inlineFrameBytes = 2048 }
        defer { d.stop() }
        let pathB = TestModel.write(in: dir.path, id: "model-b", bias: 1)
        let biases = ["model-a": -2.0, "model-b": 1.0]
        struct Tally { var sent = 0; var received = 0; var byModel: [String: Int] = [:]; var problems: [String] = [] }
        let tally = Mutex(Tally())
        let stop = Atomic<Bool>(false)
        let addresses = [d.unixAddress, d.tcpAddress]
        let workers = (0..<2).map { w in
            Joinable {
                do {
                    let c = try WireTestClient(addresses[w])
                    var n: UInt64 = 0
                    while !stop.load(ordering: .relaxed) {
                        // Eight in flight: four small, four big.
                        var pending = [UInt64: Applicants]()
                        for k in 0..<8 {
                            n += 1
                            let apps = Applicants(count: k % 2 == 0 ? 2 : 200, seed: n * 10 + UInt64(w), invalidEvery: 9)
                            pending[n] = apps
                            try c.send(apps.request(id: n))
                        }
                        tally.withLock { $0.sent += 8 }
                        for _ in 0..<8 {
                            let r = try c.receive()
                            let model = r.score?.modelId ?? "?"
                            let problem: String?
                            if let apps = pending[r.requestId] {
                                if let bias = biases[model] {
                                    problem = apps.problem(r, bias: bias, modelId: model)
                                } else {
                                    problem = "unknown model \(model): \(r.status)"
                                }
                            } else {
                                problem = "unexpected id \(r.requestId)"
                            }
                            pending[r.requestId] = nil
                            tally.withLock { t in
                                t.received += 1
                                t.byModel[model, default: 0] += 1
                                if let problem { t.problems.append(problem) }
                            }
                        }
                    }
                } catch {
                    tally.withLock { $0.problems.append("client \(w): \(error)") }
                }
            }
        }
        func waitFor(_ what: (Tally) -> Bool) { _ = waitUntil(seconds: 10) { tally.withLock { what($0) } } }
        waitFor { ($0.byModel["model-a"] ?? 0) >= 32 }
        let admin = try WireTestClient(d.unixAddress)
        let r = try admin.call(Request(id: 1, .reload(path: pathB)))
        #expect(r.status.code == .ok, "\(r.status)")
        if case .reload(let new, let old) = r.result { #expect(new == "model-b" && old == "model-a") } else { Issue.record("no reload result") }
        waitFor { ($0.byModel["model-b"] ?? 0) >= 32 }
        // A failed reload keeps the current model and says why.
        let bad = try admin.call(Request(id: 2, .reload(path: "\(dir.path)/missing.model")))
        #expect(bad.status.code == .internal && bad.status.message.contains("missing.model") && bad.status.message.contains("still serving model-b"))
        usleep(50_000)
        stop.store(true, ordering: .relaxed)
        for w in workers { w.join() }
        let t = tally.withLock { $0 }
        #expect(t.problems.isEmpty, "\(t.problems.prefix(5))")
        #expect(t.sent == t.received && t.sent > 16)
        #expect((t.byModel["model-a"] ?? 0) > 0 && (t.byModel["model-b"] ?? 0) > 0, "\(t.byModel)")
        #expect(try admin.call(Request(id: 3, .health)).health?.modelId == "model-b")
        // SIGHUP's path: reload() re-reads the current model's file.
        _ = TestModel.write(in: dir.path, id: "model-b", bias: 0.5)
        #expect(try d.reload().info.modelId == "model-b")
        let one = Applicants(count: 3, seed: 8)
        one.check(try admin.call(one.request(id: 4)), bias: 0.5, modelId: "model-b")
    }

    @Test func gracefulStopAnswersEveryAcceptedRequest() throws {
        let dir = TempDir()
        let slow = TestModel.write(in: dir.path, id: "slow", delayMillis: 50)
        let d = try startDaemon(dir, model: slow) { c in
            c.workers = 1
            c.queueDepth = 16
            c.inlineFrameBytes = 0
        }
        let c = try WireTestClient(d.unixAddress)
        let apps = Applicants(count: 4, seed: 2)
        for i in 0..<6 { try c.send(apps.request(id: UInt64(i))) }
        usleep(20_000)
        let clean = Mutex<Bool?>(nil)
        let stopper = Joinable { let ok = d.stop(); clean.withLock { $0 = ok } }
        var answered = Set<UInt64>()
        for _ in 0..<6 {
            let r = try c.receive()
            #expect(apps.problem(r, bias: -2, modelId: "slow") == nil)
            answered.insert(r.requestId)
        }
        #expect(answered == Set(0..<6))
        #expect(waitForClose(c, timeout: 5).seconds != nil)
        stopper.join()
        #expect(clean.withLock { $0 } == true)
        #expect(!FileManager.default.fileExists(atPath: dir.socket))
        #expect(throws: ClientError.self) { try WireTestClient(d.unixAddress) }
    }
}
