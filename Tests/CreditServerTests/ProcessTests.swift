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
    static var creditd: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("creditd")
    }

    static func launch(_ arguments: [String]) throws -> (Process, Pipe) {
        let exe = creditd
        try #require(FileManager.default.isExecutableFile(atPath: exe.path), "creditd not built at \(exe.path) (swift build)")
        let p = Process()
        p.executableURL = exe
        p.arguments = arguments
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return (p, err)
    }

    static func waitForExit(_ p: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        return !p.isRunning
    }

    @Test func sigtermStopsGracefullyAndRemovesTheSocket() throws {
        let dir = TempDir()
        let (p, err) = try Self.launch(["--listen", "unix:\(dir.socket)", "--listen", "tcp:127.0.0.1:0", "--log-level", "info"])
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        var client: WireTestClient?
        for _ in 0..<500 where client == nil {
            client = try? WireTestClient(.unix(path: dir.socket))
            if client == nil { usleep(10_000) }
        }
        let c = try #require(client, "creditd did not start listening")
        // No model: live, not ready.
        #expect(try c.call(Request(id: 1, .health)).health == Health(live: true, ready: false, modelId: ""))
        // SIGHUP with nothing to reload is logged and survived.
        kill(p.processIdentifier, SIGHUP)
        usleep(50_000)
        #expect(try c.call(Request(id: 2, .health)).health?.live == true)
        kill(p.processIdentifier, SIGTERM)
        #expect(Self.waitForExit(p, seconds: 10))
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.socket))
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("listening") && log.contains("stopped"), "\(log)")
        #expect(log.contains("model load failed"), "SIGHUP without a model should log why it could not reload")
    }

    @Test func servesARealArtifactAndReloadsOnSighup() throws {
        let dir = TempDir()
        let (pathA, modelA) = try RealModelTests.trainArtifact(in: dir, seed: 42, name: "a")
        let (pathB, modelB) = try RealModelTests.trainArtifact(in: dir, seed: 7, name: "b")
        let live = "\(dir.path)/live.credit"
        try FileManager.default.copyItem(atPath: pathA, toPath: live)
        let (p, _) = try Self.launch(["--model", live, "--listen", "unix:\(dir.socket)", "--log-level", "warning"])
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        var client: WireTestClient?
        for _ in 0..<1000 where client == nil {
            client = try? WireTestClient(.unix(path: dir.socket))
            if client == nil { usleep(10_000) }
        }
        let c = try #require(client, "creditd did not start listening")
        #expect(try c.call(Request(id: 1, .health)).health == Health(live: true, ready: true, modelId: modelA.modelID))
        let t = Synthetic.table(rows: 20, seed: 3)
        let info = try #require(try c.call(Request(id: 2, .modelInfo)).modelInfo)
        let s = try #require(try c.call(Request(id: 3, .score(.columns(RealModelTests.batch(t, fields: info.fields))))).score)
        let expected = try modelA.score(t)
        #expect(s.probability.map(\.bitPattern) == expected.map { $0.score?.probability.bitPattern ?? Double.nan.bitPattern })
        // Replace the file and SIGHUP: the daemon re-reads its model path.
        try FileManager.default.removeItem(atPath: live)
        try FileManager.default.copyItem(atPath: pathB, toPath: live)
        kill(p.processIdentifier, SIGHUP)
        var now = ""
        for _ in 0..<500 where now != modelB.modelID {
            now = try c.call(Request(id: 4, .health)).health?.modelId ?? ""
            if now != modelB.modelID { usleep(10_000) }
        }
        #expect(now == modelB.modelID)
        kill(p.processIdentifier, SIGTERM)
        #expect(Self.waitForExit(p, seconds: 10))
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.socket))
    }

    @Test func unloadableModelFailsAtStartWithReason() throws {
        let dir = TempDir()
        let (p, err) = try Self.launch(["--model", "\(dir.path)/nope.credit", "--listen", "unix:\(dir.socket)"])
        #expect(Self.waitForExit(p, seconds: 10))
        #expect(p.terminationStatus != 0)
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("nope.credit"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: dir.socket))
    }

    @Test func badOptionsAreRejected() throws {
        let (p, err) = try Self.launch(["--listen", "udp:1"])
        #expect(Self.waitForExit(p, seconds: 10))
        #expect(p.terminationStatus != 0)
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("expected unix:PATH or tcp:HOST:PORT"), "\(log)")
    }
}
