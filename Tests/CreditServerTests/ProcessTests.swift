import CreditCore
import CreditNet
import CreditService
import CreditDomain
import CreditServer
import CreditWire
import Foundation
import CreditTestSupport
import Testing

/// Runs the built `creditd` executable (next to the test bundle in .build/<config>/).
@Suite(.serialized) struct ProcessTests {
    @Test func sigtermStopsGracefullyAndRemovesTheSocket() throws {
        let dir = TempDir()
        let d = try CreditdProcess(["--listen", "unix:\(dir.socket)", "--listen", "tcp:127.0.0.1:0", "--log-level", "info"],
                                   captureLogs: true, until: { accepts(.unix(path: dir.socket)) })
        let p = d.process
        let c = try WireTestClient(.unix(path: dir.socket))
        // No model: live, not ready.
        #expect(try c.call(Request(id: 1, .health)).health == Health(live: true, ready: false, modelId: ""))
        // SIGHUP with nothing to reload is logged and survived.
        d.signal(SIGHUP)
        usleep(50_000)
        #expect(try c.call(Request(id: 2, .health)).health?.live == true)
        d.signal(SIGTERM)
        #expect(d.waitForExit(seconds: 10))
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.socket))
        let log = d.loggedText()
        #expect(log.contains("listening") && log.contains("stopped"), "\(log)")
        #expect(log.contains("model load failed"), "SIGHUP without a model should log why it could not reload")
    }

    @Test func servesARealArtifactAndReloadsOnSighup() throws {
        let dir = TempDir()
        let (pathA, modelA) = try RealModelTests.trainArtifact(in: dir, seed: 42, name: "a")
        let (pathB, modelB) = try RealModelTests.trainArtifact(in: dir, seed: 7, name: "b")
        let live = "\(dir.path)/live.credit"
        try FileManager.default.copyItem(atPath: pathA, toPath: live)
        let d = try CreditdProcess(["--model", live, "--listen", "unix:\(dir.socket)", "--log-level", "warning"],
                                   until: { accepts(.unix(path: dir.socket)) })
        let p = d.process
        let c = try WireTestClient(.unix(path: dir.socket))
        #expect(try c.call(Request(id: 1, .health)).health == Health(live: true, ready: true, modelId: modelA.modelID))
        let t = Synthetic.table(rows: 20, seed: 3)
        let info = try #require(try c.call(Request(id: 2, .modelInfo)).modelInfo)
        let s = try #require(try c.call(Request(id: 3, .score(.columns(RealModelTests.batch(t, fields: info.fields))))).score)
        let expected = try modelA.score(t)
        #expect(s.probability.map(\.bitPattern) == expected.map { $0.score?.probability.bitPattern ?? Double.nan.bitPattern })
        // Replace the file and SIGHUP: the daemon re-reads its model path.
        try FileManager.default.removeItem(atPath: live)
        try FileManager.default.copyItem(atPath: pathB, toPath: live)
        d.signal(SIGHUP)
        var now = ""
        for _ in 0..<500 where now != modelB.modelID {
            now = try c.call(Request(id: 4, .health)).health?.modelId ?? ""
            if now != modelB.modelID { usleep(10_000) }
        }
        #expect(now == modelB.modelID)
        d.signal(SIGTERM)
        #expect(d.waitForExit(seconds: 10))
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.socket))
    }

    @Test func unloadableModelFailsAtStartWithReason() throws {
        let dir = TempDir()
        let d = try CreditdProcess(["--model", "\(dir.path)/nope.credit", "--listen", "unix:\(dir.socket)"], captureLogs: true)
        let p = d.process
        #expect(d.waitForExit(seconds: 10))
        #expect(p.terminationStatus != 0)
        let log = d.loggedText()
        #expect(log.contains("nope.credit"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: dir.socket))
    }

    @Test func badOptionsAreRejected() throws {
        let d = try CreditdProcess(["--listen", "udp:1"], captureLogs: true)
        let p = d.process
        #expect(d.waitForExit(seconds: 10))
        #expect(p.terminationStatus != 0)
        let log = d.loggedText()
        #expect(log.contains("expected unix:PATH or tcp:HOST:PORT"), "\(log)")
    }
}
