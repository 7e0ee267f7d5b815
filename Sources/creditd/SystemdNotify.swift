import CreditService
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The systemd notify protocol without libsystemd: one datagram per state change to the
/// AF_UNIX socket named by $NOTIFY_SOCKET (a path, or '@' for the abstract namespace).
/// Without $NOTIFY_SOCKET (not under systemd) every call does nothing.
/// deploy/creditd.service uses Type=notify and WatchdogSec (docs/deploy.md).
enum SystemdNotify {
    static let socketPath = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"]

    static func send(_ state: String) {
        guard let path = socketPath, !path.isEmpty else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in raw.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        _ = Array(state.utf8).withUnsafeBytes { payload in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, payload.baseAddress, payload.count, Int32(MSG_NOSIGNAL), $0, length)
                }
            }
        }
    }

    static func ready(modelID: String?) {
        send("READY=1\nSTATUS=serving \(modelID ?? "no model (not ready until a Reload)")")
    }

    /// RELOADING=1 with the monotonic time systemd wants (Type=notify-reload checks it).
    static func reloading() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        send("RELOADING=1\nMONOTONIC_USEC=\(UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000)")
    }

    static func stopping() { send("STOPPING=1") }

    /// With WatchdogSec set, pings at half the interval while the service's model slot still
    /// answers (a wedged slot lock stops the pings and systemd restarts the daemon).
    static func startWatchdog(service: ScoringService) {
        let env = ProcessInfo.processInfo.environment
        guard socketPath != nil, let usec = env["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 else { return }
        if let pid = env["WATCHDOG_PID"].flatMap(Int32.init), pid != getpid() { return }
        let interval = UInt32(min(usec / 2, UInt64(UInt32.max)))
        let thread = Thread {
            while true {
                _ = service.health()
                send("WATCHDOG=1")
                usleep(interval)
            }
        }
        thread.name = "sd-watchdog"
        thread.start()
    }
}
