import CreditTestSupport
import Foundation

/// The real creditd binary serving `model` on an HTTP port (and any other listeners given),
/// ready once `/readyz` says so: for tests that need the process (its memory, signals).
/// Started on a fresh port when the one found free was taken first (`onFreshPorts`).
final class RealCreditd: @unchecked Sendable {
    let daemon: CreditdProcess
    let port: Int

    init(model: String, extra: [String] = []) throws {
        (daemon, port) = try onFreshPorts(1) { ports in
            let port = ports[0]
            return (try CreditdProcess(["--model", model, "--listen", "http:127.0.0.1:\(port)", "--log-level", "error"] + extra,
                                       until: { (try? HTTP.blockingRequest(port: port, "GET", "/readyz"))?.status == 200 }), port)
        }
    }

    var process: Process { daemon.process }
    var pid: Int32 { daemon.pid }

    /// A /proc/PID/status figure in KiB (VmRSS now, VmHWM the peak).
    func status(_ key: String) -> Int { daemon.status(key) }

    func stop() { daemon.stop() }
}
