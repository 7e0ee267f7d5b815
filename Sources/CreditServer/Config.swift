import CreditNet
import CreditService

public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Everything the daemon is configured with (creditd's options map 1:1 onto this).
public struct DaemonConfig: Sendable {
    /// The artifact loaded at start; nil starts the daemon not ready (load with Reload).
    public var modelPath: String?
    /// `unix:PATH` and `tcp:HOST:PORT` listeners (the one address grammar, `SocketAddress`).
    public var listen: [SocketAddress]
    /// Open connections at most. When full, the connection idle (or stuck in a partial
    /// frame) for longest is evicted for the newcomer; only when every one is scoring is the
    /// newcomer answered UNAVAILABLE and closed.
    public var maxConnections = 256
    /// Open connections per peer (Unix: the peer's uid; TCP: its address), same policy.
    public var maxConnectionsPerPeer = 128
    /// Seconds a frame may take to arrive once its first byte is in (stalled or trickled
    /// frames are cut).
    public var frameTimeoutSeconds = 10.0
    /// Unreadable requests in a row (malformed, no method, over budget) that close the
    /// connection.
    public var maxProtocolErrors = 3
    /// Longest accepted frame payload; longer gets RESOURCE_EXHAUSTED and the connection closes.
    public var maxFrameBytes = 8 * 1024 * 1024
    /// Most applicants in one Score request (INVALID_ARGUMENT beyond).
    public var maxApplicants = 10_000
    /// A connection with no bytes arriving for this long (and nothing in flight) is closed.
    public var idleTimeoutSeconds = 60.0
    /// Threads of the worker pool that scores big frames.
    public var workers = 2
    /// Frames waiting for a worker; beyond this a request is answered RESOURCE_EXHAUSTED.
    public var queueDepth = 64
    /// Frames up to this size are handled on the connection's own reader thread (lowest
    /// latency); larger ones go to the worker pool.
    public var inlineFrameBytes = 16 * 1024
    /// Responses waiting to be written to one connection before it is dropped as not reading.
    public var maxPendingOutputBytes = 64 * 1024 * 1024
    /// Graceful stop: how long requests in flight get to finish.
    public var drainSeconds = 10.0

    public init(modelPath: String? = nil, listen: [SocketAddress]) {
        self.modelPath = modelPath
        self.listen = listen
    }

    /// Decoded elements (sub-messages, strings, unknown fields, arrays) allowed per applicant
    /// of `maxApplicants`: a columnar batch uses about 1 + its categorical fields each.
    public static let elementsPerApplicant = 32

    /// Most elements one request may decode into; checked before protobuf-c unpacks it.
    public var elementBudget: Int { maxApplicants * Self.elementsPerApplicant + 64 }

    /// The face-independent part: what the scoring service is configured with.
    public var service: ServiceConfig { ServiceConfig(modelPath: modelPath, maxApplicants: maxApplicants) }

    /// Parses a `--listen` value (`unix:PATH`, `tcp:HOST:PORT`, `tcp:PORT`).
    public static func parseListen(_ text: String) throws(ConfigError) -> SocketAddress {
        do { return try SocketAddress(parsing: text) } catch { throw ConfigError("listen address '\(text)': \(error.detail ?? error.description)") }
    }

    public func validate() throws(ConfigError) {
        if listen.isEmpty { throw ConfigError("no --listen address given") }
        if maxConnections < 1 { throw ConfigError("max connections \(maxConnections) must be >= 1") }
        if maxConnectionsPerPeer < 1 { throw ConfigError("max connections per peer \(maxConnectionsPerPeer) must be >= 1") }
        if !(frameTimeoutSeconds > 0) { throw ConfigError("frame timeout \(frameTimeoutSeconds) s must be > 0") }
        if maxProtocolErrors < 1 { throw ConfigError("max protocol errors \(maxProtocolErrors) must be >= 1") }
        if maxFrameBytes < 64 { throw ConfigError("max frame bytes \(maxFrameBytes) must be >= 64") }
        if maxFrameBytes > 256 * 1024 * 1024 { throw ConfigError("max frame bytes \(maxFrameBytes) must be <= 256 MiB") }
        if maxApplicants < 1 { throw ConfigError("max applicants \(maxApplicants) must be >= 1") }
        if !(idleTimeoutSeconds > 0) { throw ConfigError("idle timeout \(idleTimeoutSeconds) s must be > 0") }
        if workers < 1 { throw ConfigError("workers \(workers) must be >= 1") }
        if queueDepth < 1 { throw ConfigError("queue depth \(queueDepth) must be >= 1") }
        if inlineFrameBytes < 0 { throw ConfigError("inline frame bytes \(inlineFrameBytes) must be >= 0") }
        if !(drainSeconds >= 0) { throw ConfigError("drain seconds \(drainSeconds) must be >= 0") }
    }
}
