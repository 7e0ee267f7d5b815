import CreditTestSupport
import Foundation

/// The real creditd binary serving `model` on an HTTP port (and any other listeners given),
/// ready once `/readyz` says so: for tests that need the process (its memory, signals).
/// A port found free can be taken by another suite's socket before creditd binds it (creditd
/// then exits: 'Address already in use'), so a daemon that exits before it is ready is started
/// again on a fresh port, up to five times.
final class RealCreditd: @unchecked Sendable {
    let daemon: CreditdProcess
    let port: Int

    init(model: String, extra: [String] = []) throws {
        var attempt = 0
        while true {
            let port = try freeTCPPort()
            do {
                daemon = try CreditdProcess(["--model", model, "--listen", "http:127.0.0.1:\(port)", "--log-level", "error"] + extra,
                                            until: { (try? HTTP.blockingRequest(port: port, "GET", "/readyz"))?.status == 200 })
                self.port = port
                return
            } catch let e as CreditdStartError where e.description.contains("exited") && attempt < 4 {
                attempt += 1
            }
        }
    }

    var process: Process { daemon.process }
    var pid: Int32 { daemon.pid }

    /// A /proc/PID/status figure in KiB (VmRSS now, VmHWM the peak).
    func status(_ key: String) -> Int { daemon.status(key) }

    func stop() { daemon.stop() }
}
