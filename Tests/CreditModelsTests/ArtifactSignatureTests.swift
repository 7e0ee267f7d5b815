import CreditModels
import Foundation
import CreditTestSupport
import Testing

/// Signed artifacts (ArtifactSignature.swift): the envelope, trust, every altered byte, the CLI.
@Suite struct ArtifactSignatureTests {
    static func keyDir(_ name: String, keys: [String]) throws -> (dir: String, keys: [SigningKey]) {
        let dir = temporaryPath(name)
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var out: [SigningKey] = []
        for k in keys {
            try SigningKey.generate().write(prefix: "\(dir)/\(k)")
            out.append(try SigningKey(path: "\(dir)/\(k).key"))
        }
        return (dir, out)
    }

    @Test func signedArtifactLoadsWithItsSignerAndScoresAsTheUnsignedOne() throws {
        let a = try trainSynthetic()
        let (dir, keys) = try Self.keyDir("sig-ok", keys: ["release"])
        let signed = try ArtifactSignature.sign(a.fileData, with: keys[0])
        let path = "\(dir)/m.credit"
        try signed.write(to: URL(fileURLWithPath: path))
        let trusted = try TrustedKeys(directory: dir)
        let r = try ModelArtifact.load(path: path, trusted: trusted)
        #expect(r.modelID == a.modelID)           // the content id is the inner artifact's
        #expect(r.signer?.keyID == keys[0].keyID)
        #expect(try ScoringModel(path: path).signer?.keyID == keys[0].keyID)  // no trust asked: still readable
        // Signing again replaces the signature; the inner bytes stay the artifact's.
        let resigned = try ArtifactSignature.sign(signed, with: keys[0])
        #expect(try ArtifactSignature.open(resigned).inner == a.fileData)
    }

    @Test func unsignedUnknownKeyAndEveryAlteredByteAreRefused() throws {
        let a = try trainSynthetic()
        let (dir, keys) = try Self.keyDir("sig-bad", keys: ["trusted"])
        let (_, other) = try Self.keyDir("sig-bad-other", keys: ["stranger"])
        let trusted = try TrustedKeys(directory: dir)
        func refusal(_ data: Data) -> String? {
            let path = "\(dir)/candidate.credit"
            try? data.write(to: URL(fileURLWithPath: path))
            do { _ = try ModelArtifact.load(path: path, trusted: trusted); return nil } catch { return "\(error)" }
        }
        #expect(refusal(a.fileData)?.contains("is not signed") == true)
        #expect(refusal(try ArtifactSignature.sign(a.fileData, with: other[0]))?.contains("signed by key \(other[0].keyID), which is not in") == true)
        let good = try ArtifactSignature.sign(a.fileData, with: keys[0])
        #expect(refusal(good) == nil)
        // One byte changed anywhere in the envelope header, and at spread positions of the body.
        let header = good.firstIndex(of: 10).flatMap { nl in good[(nl + 1)...].firstIndex(of: 10) }!
        var positions = Array(0...header)
        positions += stride(from: header + 1, to: good.count, by: max(1, (good.count - header) / 300))
        positions.append(good.count - 1)
        var refused = 0
        for i in positions {
            var bad = good
            bad[i] ^= (bad[i] == UInt8(ascii: " ") ? 0x01 : 0x20)
            if refusal(bad) != nil { refused += 1 } else { Issue.record("byte \(i) altered was accepted") }
        }
        #expect(refused == positions.count && refused > 300)
        // Even without trusted keys an altered signed file does not load.
        var bad = good
        bad[header + 50] ^= 1
        try bad.write(to: URL(fileURLWithPath: "\(dir)/altered.credit"))
        #expect(throws: ArtifactError.self) { try ModelArtifact.load(path: "\(dir)/altered.credit") }
    }

    @Test func keysCommandGeneratesSignsAndVerifies() throws {
        let dir = temporaryPath("sig-cli")
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: "\(dir)/trusted", withIntermediateDirectories: true)
        let a = try trainSynthetic()
        try a.fileData.write(to: URL(fileURLWithPath: "\(dir)/m.credit"))
        let g = try CLITests.credit(["keys", "generate", "--out", "\(dir)/trusted/ops"])
        #expect(g.status == 0, "\(g.stderr)")
        let attrs = try FileManager.default.attributesOfItem(atPath: "\(dir)/trusted/ops.key")
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        #expect(try CLITests.credit(["keys", "generate", "--out", "\(dir)/trusted/ops"]).status != 0)  // never overwrites
        let unsigned = try CLITests.credit(["keys", "verify", "--trusted-keys", "\(dir)/trusted", "\(dir)/m.credit"])
        #expect(unsigned.status != 0 && unsigned.stderr.contains("is not signed"), "\(unsigned.stderr)")
        let s = try CLITests.credit(["keys", "sign", "--key", "\(dir)/trusted/ops.key", "--out", "\(dir)/s.credit", "\(dir)/m.credit"])
        #expect(s.status == 0 && s.stdout.contains(a.modelID), "\(s.stderr)")
        let v = try CLITests.credit(["keys", "verify", "--trusted-keys", "\(dir)/trusted", "\(dir)/s.credit"])
        let keyID = try SigningKey(path: "\(dir)/trusted/ops.key").keyID
        #expect(v.status == 0 && v.stdout.contains(keyID), "\(v.stderr)")
    }
}
