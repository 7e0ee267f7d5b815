import Foundation
import Testing

/// Runs the libFuzzer harness over the request decoder (Fuzz/, scripts/fuzz.sh) from the
/// committed corpus for a bounded time (CREDIT_FUZZ_SECONDS, default 30): no crash, no
/// sanitizer report, and a real number of executions. Longer runs are made by hand.
@Suite struct DecoderFuzzTests {
    @Test func libFuzzerFindsNothingInTheRequestDecoder() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let seconds = ProcessInfo.processInfo.environment["CREDIT_FUZZ_SECONDS"] ?? "30"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["\(root)/scripts/fuzz.sh", seconds]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let tail = text.split(separator: "\n").suffix(15).joined(separator: "\n")
        #expect(p.terminationStatus == 0, "fuzzer failed:\n\(tail)")
        // libFuzzer's final stats: "stat::number_of_executed_units: N".
        let runs = text.split(separator: "\n").first { $0.hasPrefix("stat::number_of_executed_units:") }
            .flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        #expect(runs > 10_000, "only \(runs) executions:\n\(tail)")
        print("DecoderFuzzTests: \(runs) executions in \(seconds) s, no findings")
    }
}
