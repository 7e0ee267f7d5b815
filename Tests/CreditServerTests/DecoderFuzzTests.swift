import CreditTestSupport
import Foundation
import Testing

/// Runs the libFuzzer harness over the request decoder (Fuzz/, scripts/fuzz.sh) from the
/// committed corpus for a bounded time (CREDIT_FUZZ_SECONDS, default 30): no crash, no
/// sanitizer report, and a real number of executions. Longer runs are made by hand.
@Suite struct DecoderFuzzTests {
    @Test func libFuzzerFindsNothingInTheRequestDecoder() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let seconds = ProcessInfo.processInfo.environment["CREDIT_FUZZ_SECONDS"] ?? "30"
        let (status, text) = try runCapturing("/bin/bash", ["\(root)/scripts/fuzz.sh", seconds])
        let tail = text.split(separator: "\n").suffix(15).joined(separator: "\n")
        #expect(status == 0, "fuzzer failed:\n\(tail)")
        // libFuzzer's final stats: "stat::number_of_executed_units: N".
        let runs = text.split(separator: "\n").first { $0.hasPrefix("stat::number_of_executed_units:") }
            .flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        #expect(runs > 10_000, "only \(runs) executions:\n\(tail)")
        print("DecoderFuzzTests: \(runs) executions in \(seconds) s, no findings")
    }
}
