import CreditDomain
import CreditModels
import CreditNet
import CreditWire
import Foundation
import CreditTestSupport
import Testing

/// `creditd --trusted-keys DIR` (the built executable): an unsigned artifact, one signed by an
/// unknown key and one altered by a byte are refused at start (exit with the reason) and on
/// reload (Reload request and SIGHUP), while the old model keeps serving; the log says why,
/// escaped; the signer's key id is in ModelInfo.
@Suite(.serialized) struct SignedModelTests {
    @Test func untrustedArtifactsAreRefusedAtStartAndOnReload() throws {
        let dir = TempDir()
        let (pathA, modelA) = try RealModelTests.trainArtifact(in: dir, seed: 42, name: "a")
        let (pathB, modelB) = try RealModelTests.trainArtifact(in: dir, seed: 7, name: "b")
        let trustedDir = "\(dir.path)/trusted"
        try FileManager.default.createDirectory(atPath: trustedDir, withIntermediateDirectories: true)
        try SigningKey.generate().write(prefix: "\(trustedDir)/ops")
        try SigningKey.generate().write(prefix: "\(dir.path)/stranger")
        let ops = try SigningKey(path: "\(trustedDir)/ops.key"), stranger = try SigningKey(path: "\(dir.path)/stranger.key")
        let fileB = try Data(contentsOf: URL(fileURLWithPath: pathB))
        var altered = try ArtifactSignature.sign(fileB, with: ops)
        altered[altered.count - 40] ^= 0x01
        // The last name holds a line break: the log must escape it.
        let bad: [(name: String, data: Data, why: String)] = [
            ("unsigned.credit", fileB, "is not signed"),
            ("stranger.credit", try ArtifactSignature.sign(fileB, with: stranger), "signed by key \(stranger.keyID), which is not in"),
            ("altered\nFORGED.credit", altered, "fails its signature check"),
        ]
        for b in bad { try b.data.write(to: URL(fileURLWithPath: "\(dir.path)/\(b.name)")) }
        let live = "\(dir.path)/live.credit"
        try ArtifactSignature.sign(try Data(contentsOf: URL(fileURLWithPath: pathA)), with: ops).write(to: URL(fileURLWithPath: live))

        // At start: each bad file makes creditd exit non-zero with the reason.
        for b in bad {
            let d = try CreditdProcess(["--trusted-keys", trustedDir, "--model", "\(dir.path)/\(b.name)", "--listen", "unix:\(dir.socket)"],
                                       captureLogs: true)
            #expect(d.waitForExit(seconds: 20))
            #expect(d.process.terminationStatus != 0)
            let log = d.loggedText()
            #expect(log.contains(b.why), "\(b.name): \(log)")
            #expect(!log.split(separator: "\n").contains { $0.hasPrefix("FORGED") }, "unescaped line break in the log: \(log)")
        }

        let d = try CreditdProcess(["--trusted-keys", trustedDir, "--model", live, "--listen", "unix:\(dir.socket)"],
                                   captureLogs: true, until: { accepts(.unix(path: dir.socket)) }, seconds: 20)
        let c = try WireTestClient(.unix(path: dir.socket))
        let info = try #require(try c.call(Request(id: 1, .modelInfo)).modelInfo)
        #expect(info.modelId == modelA.modelID && info.signerKeyId == ops.keyID)
        let t = Synthetic.table(rows: 20, seed: 3)
        let expected = try modelA.score(t).map { $0.score?.probability.bitPattern ?? Double.nan.bitPattern }
        func stillServingA(_ id: UInt64) throws {
            let s = try #require(try c.call(Request(id: id, .score(.columns(RealModelTests.batch(t, fields: info.fields))))).score)
            #expect(s.modelId == modelA.modelID && s.probability.map(\.bitPattern) == expected)
        }
        // Reload requests: refused with the reason; A keeps serving.
        for (i, b) in bad.enumerated() {
            let r = try c.call(Request(id: 10 + UInt64(i), .reload(path: "\(dir.path)/\(b.name)")))
            #expect(r.status.code == .internal && r.status.message.contains(b.why) && r.status.message.contains(modelA.modelID), "\(b.name): \(r.status)")
            try stillServingA(20 + UInt64(i))
        }
        // SIGHUP re-reads the live path: each bad file in its place is refused too.
        for (i, b) in bad.enumerated() {
            try b.data.write(to: URL(fileURLWithPath: live), options: .atomic)
            d.signal(SIGHUP)
            usleep(300_000)
            try stillServingA(30 + UInt64(i))
        }
        // A trusted, intact B is taken.
        try ArtifactSignature.sign(fileB, with: ops).write(to: URL(fileURLWithPath: live), options: .atomic)
        let ok = try c.call(Request(id: 40, .reload(path: live)))
        #expect(ok.status.code == .ok)
        #expect(try c.call(Request(id: 41, .modelInfo)).modelInfo?.modelId == modelB.modelID)
        d.signal(SIGTERM)
        #expect(d.waitForExit(seconds: 10))
        let log = d.loggedText()
        for b in bad { #expect(log.components(separatedBy: b.why).count - 1 >= 2, "\(b.why) not logged for Reload and SIGHUP: \(log)") }
        #expect(log.contains("signer=\(ops.keyID)") || log.contains(ops.keyID), "\(log)")
        #expect(!log.split(separator: "\n").contains { $0.hasPrefix("FORGED") }, "unescaped line break in the log: \(log)")
    }
}
