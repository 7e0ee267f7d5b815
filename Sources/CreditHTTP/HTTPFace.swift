import CreditCore
import CreditDomain
import CreditService
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Runs Swift Concurrency's tasks on NIO's event loops (the group Hummingbird serves on), so a
/// request's handler goes on on the thread that read it instead of hopping to the cooperative
/// pool and back: two thread switches per request, most of a one-applicant answer's latency.
/// A process-wide choice, so the executable makes it (creditd, once, from its main thread,
/// before any task); returns false when the runtime does not allow it.
public func runConcurrencyOnEventLoops() -> Bool {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}

/// What the HTTP face is configured with (`creditd --listen http:HOST:PORT`).
public struct HTTPFaceConfig: Sendable {
    public var host: String
    public var port: Int
    /// Bearer token every request must carry; required to bind beyond loopback.
    public var token: String?
    /// Largest request body (413 beyond).
    public var maxBodyBytes = 4 << 20
    /// Largest CSV upload (`POST /v1/score/csv`, spooled to a temporary file; 413 beyond).
    public var maxCSVBytes = 64 << 20
    /// Seconds a connection may sit idle (slow clients are cut).
    public var idleTimeoutSeconds = 60.0
    /// The Prometheus text for `GET /metrics` (creditd renders its registry).
    public var metricsText: @Sendable () -> String = { "" }

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    var isLoopback: Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }

    /// Parses `http:HOST:PORT` (or `http:PORT`, 127.0.0.1); nil when `text` is not `http:`.
    public static func parse(_ text: String) throws -> HTTPFaceConfig? {
        guard text.hasPrefix("http:") else { return nil }
        var rest = text.dropFirst(5)
        if rest.hasPrefix("//") { rest = rest.dropFirst(2) }
        var host = "127.0.0.1", portText = rest
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            portText = rest[rest.index(after: close)...].dropFirst()
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port), !host.isEmpty else {
            throw HTTPFaceError("listen address '\(text)': expected http:HOST:PORT")
        }
        return HTTPFaceConfig(host: host, port: port)
    }
}

public struct HTTPFaceError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

/// The HTTP/JSON face of the scoring service: the same model slot, method semantics,
/// validation and metrics as the protobuf face (CreditServer), over Hummingbird.
/// Endpoints and bodies: docs/http.md and `GET /openapi.json`.
public final class HTTPFace: Sendable {
    public let config: HTTPFaceConfig
    let service: ScoringService
    let metrics: FaceMetrics
    private let scorers = ScorerPool()

    /// Idle scorers (each request takes one and gives it back: scorers are per-thread state).
    private final class ScorerPool: @unchecked Sendable {
        let lock = NSLock()
        var idle: [BatchScorer] = []
    }
    private let running = Running()
    private let boundPort = Mutex<Int?>(nil)

    /// The service group and its task, set once at start.
    private final class Running: @unchecked Sendable {
        let lock = NSLock()
        var group: ServiceGroup?
        var task: Task<Void, any Error>?
    }

    init(config: HTTPFaceConfig, service: ScoringService) {
        self.config = config
        self.service = service
        metrics = service.metrics(face: "http")
    }

    /// The bound port (useful with port 0), once listening.
    public var port: Int? { boundPort.withLock { $0 } }

    /// Starts serving on a background task; returns once the port is bound.
    public func start() async throws {
        let ready = AsyncStream<Result<Int, any Error>>.makeStream()
        let app = Application(
            router: makeRouter(),
            server: HTTPServerBuilder { [self] responder in RawScoreHTTP1Channel(responder: responder, face: self) },
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "creditd"),
            onServerRunning: { channel in ready.continuation.yield(.success(channel.localAddress?.port ?? 0)) },
            logger: service.logger)
        let g = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: service.logger))
        let t = Task {
            do { try await g.run() } catch { ready.continuation.yield(.failure(error)); throw error }
        }
        running.lock.withLock { running.group = g; running.task = t }
        for await r in ready.stream {
            let port = try r.get()
            boundPort.withLock { $0 = port }
            service.logger.notice("listening", metadata: ["address": "http:\(config.host):\(port)"])
            return
        }
    }

    /// Graceful stop: requests in flight finish, then the listener closes.
    public func stop() async {
        let (g, t) = running.lock.withLock { (running.group, running.task) }
        await g?.triggerGracefulShutdown()
        _ = try? await t?.value
    }

    /// A scorer from the pool (one per request in flight; returned after).
    func withScorer<R>(_ body: (BatchScorer) throws -> R) rethrows -> R {
        let s = scorers.lock.withLock { scorers.idle.popLast() } ?? service.makeScorer()
        defer { scorers.lock.withLock { if scorers.idle.count < 16 { scorers.idle.append(s) } } }
        return try body(s)
    }
}

/// Builds the HTTP face on an existing service (which the protobuf face may serve too) and
/// starts it. A non-loopback address needs a token.
public func startHTTPFace(config: HTTPFaceConfig, service: ScoringService) async throws -> HTTPFace {
    if !config.isLoopback && (config.token ?? "").isEmpty {
        throw HTTPFaceError("http:\(config.host):\(config.port) is beyond loopback: give --http-token-file (clients send 'Authorization: Bearer TOKEN')")
    }
    let face = HTTPFace(config: config, service: service)
    try await face.start()
    return face
}
