import CreditDomain
import Foundation
import Testing

/// The committed protoc-c output must be what scripts/gen-proto.sh makes from
/// proto/credit.proto today (fails when someone edits the .proto and forgets to regenerate).
@Suite struct GeneratedCodeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func committedProtocOutputMatchesProto() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("gen-proto-\(getpid())-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [Self.root.appendingPathComponent("scripts/gen-proto.sh").path, tmp.path]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        try #require(p.terminationStatus == 0, "scripts/gen-proto.sh failed (is protoc-c installed? scripts/install-deps.sh): \(message)")
        for (generated, committed) in [("credit.pb-c.c", "Sources/CCreditProto/credit.pb-c.c"),
                                       ("credit.pb-c.h", "Sources/CCreditProto/include/credit.pb-c.h")] {
            let fresh = try Data(contentsOf: tmp.appendingPathComponent(generated))
            let old = try Data(contentsOf: Self.root.appendingPathComponent(committed))
            #expect(fresh == old, "\(committed) is stale: run scripts/gen-proto.sh and commit the result")
        }
    }
}
