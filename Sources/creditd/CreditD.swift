import ArgumentParser
import CreditCore
import CreditHTTP
import CreditServer
import CreditService
import Foundation
import Logging

/// `creditd`: the credit-scoring daemon. This file only reads the configuration; everything
/// is wired by `buildDaemon(config:loader:logger:)` in CreditServer (which the tests call):
/// the scoring service (CreditService) with the artifact loader, and its protobuf face.
@main
struct CreditD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "creditd",
        abstract: "Serve a credit-risk model over a Unix socket and/or TCP (see docs/creditd.md).")

    @Option(help: "Model artifact (.credit) to load at start. Without it the daemon is live but not ready until a Reload.")
    var model: String?

    @Option(help: "Health check: ask the daemon at this address (unix:PATH or tcp:HOST:PORT) and exit 0 when it is ready, 1 otherwise; starts nothing.")
    var probe: String?

    @Flag(help: "With --probe: exit 0 when the daemon answers at all (liveness), ready or not.")
    var probeLive = false

    @Option(help: "Directory of trusted public keys (*.pub, from `credit keys generate`): only artifacts signed by one of them load, at start and on every reload.")
    var trustedKeys: String?

    @Option(help: "unix:PATH or tcp:HOST:PORT (protobuf frames; tcp:PORT binds 127.0.0.1), or http:HOST:PORT (HTTP/JSON, /metrics). Repeatable.")
    var listen: [String] = []

    @Option(help: "File holding the bearer token HTTP clients must send; required for an http: listener beyond loopback.")
    var httpTokenFile: String?

    @Option(help: "Most open connections; when full, the least recently active idle one is evicted (a newcomer is refused only when all are scoring).")
    var maxConnections = 256

    @Option(help: "Most open connections per peer (Unix: uid; TCP: address), same policy.")
    var maxConnectionsPerPeer = 128

    @Option(help: "Seconds a request frame may take to arrive once its first byte is in.")
    var frameTimeout = 10.0

    @Option(help: "Unreadable requests in a row that close a connection.")
    var maxProtocolErrors = 3

    @Option(help: "Longest request frame in bytes; longer gets RESOURCE_EXHAUSTED and the connection closes.")
    var maxFrameBytes = 8 * 1024 * 1024

    @Option(help: "Most applicants in one Score request.")
    var maxApplicants = 10_000

    @Option(help: "Seconds a connection may sit idle before it is closed: no incoming bytes (protobuf), or no whole request, body bytes or answer (HTTP: a half-sent head is idle).")
    var idleTimeout = 60.0

    @Option(help: "Worker threads that score big batches.")
    var workers = 2

    @Option(help: "Big requests allowed to wait for a worker; more get RESOURCE_EXHAUSTED.")
    var queueDepth = 64

    @Option(help: "Frames up to this many bytes are scored on the connection's own thread.")
    var inlineBytes = 16 * 1024

    @Option(help: "Seconds that requests in flight get to finish on SIGTERM/SIGINT.")
    var drainTimeout = 10.0

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    mutating func run() throws {
        if let probe { throw ExitCode(runProbe(address: probe, live: probeLive)) }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level '\(logLevel)': expected trace, debug, info, notice, warning, error or critical")
        }
        // Escaped lines: client-supplied text never starts a new log line.
        LoggingSystem.bootstrap { label in
            var h = EscapingLogHandler(label: label)
            h.logLevel = level
            return h
        }
        var config = DaemonConfig(modelPath: model, listen: [])
        var http: [HTTPFaceConfig] = []
        do {
            for text in listen {
                if let h = try HTTPFaceConfig.parse(text) { http.append(h) } else { config.listen.append(try DaemonConfig.parseListen(text)) }
            }
        } catch {
            throw ValidationError("\(error)")
        }
        if config.listen.isEmpty && http.isEmpty { throw ValidationError("no --listen address given") }
        let token = try httpTokenFile.map { path -> String in
            guard let t = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else {
                throw ValidationError("--http-token-file \(path): cannot read a token from it")
            }
            return t
        }
        config.maxConnections = maxConnections
        config.maxConnectionsPerPeer = maxConnectionsPerPeer
        config.frameTimeoutSeconds = frameTimeout
        config.maxProtocolErrors = maxProtocolErrors
        config.maxFrameBytes = maxFrameBytes
        config.maxApplicants = maxApplicants
        config.idleTimeoutSeconds = idleTimeout
        config.workers = workers
        config.queueDepth = queueDepth
        config.inlineFrameBytes = inlineBytes
        config.drainSeconds = drainTimeout
        if !config.listen.isEmpty {
            do { try config.validate() } catch { throw ValidationError(error.description) }
        }
        if !http.isEmpty { _ = runConcurrencyOnEventLoops() }
        Daemon.blockSignals()
        let code = try serve(config: config, http: http.map { var h = $0; h.token = token; h.idleTimeoutSeconds = idleTimeout; return h },
                             loader: artifactLoader(trustedKeys: trustedKeys))
        throw ExitCode(code)
    }
}
