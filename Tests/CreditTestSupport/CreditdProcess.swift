import CreditNet
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The products built beside the test bundle (.build/<config>/): tests run the real binaries,
/// as users do.
public enum BuiltProducts {
    public static let directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()

    public static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
}

/// The real creditd process, for tests that need the process itself: its signals, exit
/// status, memory, logs. The one way the tests start it.
public final class CreditdProcess: @unchecked Sendable {
    public let process = Process()
    /// Its stderr (the logs), when `captureLogs` was asked for.
    public let logs: Pipe?

    /// Starts `creditd arguments`; with `ready`, waits up to `seconds` until it holds
    /// (checked every 10 ms) and stops the daemon and throws when it never does. Its logs are
    /// dropped, kept in `logs` (`captureLogs`), or appended to `logFile`.
    public init(_ arguments: [String], captureLogs: Bool = false, logFile: String? = nil, environment: [String: String] = [:],
                until ready: (() -> Bool)? = nil, seconds: Double = 10) throws {
        let exe = BuiltProducts.url("creditd")
        guard FileManager.default.isExecutableFile(atPath: exe.path) else { throw CreditdStartError(description: "creditd not built at \(exe.path) (swift build)") }
        process.executableURL = exe
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        logs = captureLogs ? Pipe() : nil
        if let logFile {
            if !FileManager.default.fileExists(atPath: logFile) { FileManager.default.createFile(atPath: logFile, contents: nil) }
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
            h.seekToEndOfFile()
            process.standardError = h
        } else {
            process.standardError = logs ?? FileHandle.nullDevice
        }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        guard let ready else { return }
        let settled = waitUntil(seconds: seconds) { ready() || !process.isRunning }
        if settled && process.isRunning { return }
        let running = process.isRunning
        stop()
        throw CreditdStartError(description: running ? "creditd \(arguments.joined(separator: " ")) not ready after \(seconds) s"
                                                     : "creditd \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }

    deinit {
        if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() }
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func signal(_ s: Int32) { kill(pid, s) }

    /// SIGTERM, without waiting.
    public func terminate() { signal(SIGTERM) }

    public func waitUntilExit() { process.waitUntilExit() }

    /// Waits up to `seconds` for the daemon to exit; true when it did.
    public func waitForExit(seconds: Double) -> Bool {
        waitUntil(seconds: seconds) { !process.isRunning }
    }

    /// SIGTERM (a graceful stop), then its exit status once it is gone.
    @discardableResult
    public func stop() -> Int32 {
        if process.isRunning { kill(pid, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// What it logged so far and up to its exit (read after `stop` or an exit).
    public func loggedText() -> String {
        guard let logs else { return "" }
        return String(decoding: logs.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// A figure of /proc/PID/status in KiB (VmRSS now, VmHWM the peak).
    public func status(_ key: String) -> Int { procStatus(pid, key) }
}

/// A figure of /proc/PID/status in KiB (VmRSS, VmHWM), 0 when absent.
public func procStatus(_ pid: Int32, _ key: String) -> Int {
    let text = String(decoding: (try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/\(pid)/status")).readToEnd()) ?? Data(), as: UTF8.self)
    for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }
    return 0
}

/// A TCP port on 127.0.0.1 that was free a moment ago (for a daemon to bind).
public func freeTCPPort() throws -> Int {
    let probe = try Sockets.listen(.tcp(host: "127.0.0.1", port: 0))
    close(probe.fd)
    guard case .tcp(_, let p) = probe.bound else { throw CreditdStartError(description: "no free TCP port") }
    return Int(p)
}

/// `start` on `count` TCP ports found free, again on fresh ones when it throws, up to `tries`
/// times (the last error is rethrown). A port found free can be taken by another suite's socket
/// before the process binds it (the suites run in parallel); the process then exits ('Address
/// already in use'), which `start` must turn into a throw — `CreditdProcess(until:)` does.
public func onFreshPorts<T>(_ count: Int, tries: Int = 5, _ start: ([Int]) throws -> T) throws -> T {
    for attempt in 1... {
        let ports = try (0..<count).map { _ in try freeTCPPort() }
        do { return try start(ports) } catch where attempt < tries { continue }
    }
    preconditionFailure("unreachable: the last attempt returns or throws")
}

/// True when something accepts connections at `address` (a daemon is listening).
public func accepts(_ address: SocketAddress) -> Bool {
    guard let fd = try? Sockets.connect(address) else { return false }
    close(fd)
    return true
}

public struct CreditdStartError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}
