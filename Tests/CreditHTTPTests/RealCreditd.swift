import CreditNet
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real creditd binary (built beside the test bundle) serving `model` on an HTTP port
/// (and any other listeners given), for tests that need the process: its memory, signals.
final class RealCreditd: @unchecked Sendable {
    let process = Process()
    let port: Int

    init(model: String, extra: [String] = []) throws {
        let probe = try Sockets.listen(.tcp(host: "127.0.0.1", port: 0))
        close(probe.fd)
        guard case .tcp(_, let p) = probe.bound else { throw HTTPClientError(description: "no free port") }
        port = Int(p)
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("creditd")
        process.arguments = ["--model", model, "--listen", "http:127.0.0.1:\(port)", "--log-level", "error"] + extra
        try process.run()
        var ready = false
        for _ in 0..<500 where !ready {
            ready = (try? HTTP.blockingRequest(port: port, "GET", "/readyz"))?.status == 200
            if !ready { usleep(10_000) }
        }
        if !ready {
            process.terminate()
            throw HTTPClientError(description: "creditd did not become ready on port \(port)")
        }
    }

    var pid: Int32 { process.processIdentifier }

    /// A /proc/PID/status figure in KiB (VmRSS now, VmHWM the peak).
    func status(_ key: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }

    func stop() {
        if process.isRunning { kill(pid, SIGTERM) }
        process.waitUntilExit()
    }
}
