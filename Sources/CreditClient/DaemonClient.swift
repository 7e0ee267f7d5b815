import CreditDomain
import CreditNet
import CreditWire
import Foundation

/// An async client for `creditd`: a small pool of connections, each with many requests in
/// flight, per-request deadlines, reconnection after the daemon restarts, and typed errors.
///
/// ```swift
/// let client = try DaemonClient("unix:/run/creditd.sock")
/// defer { client.close() }
/// let info = try await client.modelInfo()
/// let result = try await client.score(ColumnBatch(ids: ["a"], numeric: [("person_income", [52_000])]))
/// print(result.probability[0], result.decision[0])
/// ```
///
/// Connections are opened lazily and picked round-robin. A request that fails because its
/// connection broke (`.connectionLost`) or because the daemon said UNAVAILABLE is retried
/// on a fresh connection up to `Options.retries` times — every method is idempotent
/// (scoring has no side effects; Reload of the same path twice loads the same model) —
/// and connecting is retried for up to `Options.reconnectWindow` (a daemon restarting on
/// the same socket is picked up again). Non-OK answers other than UNAVAILABLE throw
/// `DaemonError.status(code, message)` at once.
public final class DaemonClient: @unchecked Sendable {
    public struct Options: Sendable {
        /// Connections in the pool.
        public var connections = 2
        /// How long to keep trying to (re)connect before giving up.
        public var reconnectWindow: Duration = .seconds(10)
        /// Resends after a lost connection or UNAVAILABLE.
        public var retries = 3
        /// Deadline for calls that do not pass one (nil = none).
        public var defaultTimeout: Duration?
        public var maxFrameBytes = 256 * 1024 * 1024
        public init() {}
    }

    public let address: SocketAddress
    public let options: Options
    private let lock = NSLock()
    private var slots: [DaemonConnection?]
    private var next = 0
    private var closed = false
    private let connectLocks: [NSLock]
    /// Connections opened so far (the first plus every reconnect).
    public private(set) var connectsMade = 0

    public init(_ address: SocketAddress, options: Options = Options()) {
        precondition(options.connections >= 1, "a pool needs at least one connection")
        self.address = address
        self.options = options
        slots = Array(repeating: nil, count: options.connections)
        connectLocks = (0..<options.connections).map { _ in NSLock() }
    }

    public convenience init(_ address: String, options: Options = Options()) throws(DaemonError) {
        let parsed: SocketAddress
        do { parsed = try SocketAddress(parsing: address) } catch { throw .badAddress(error.detail.map { "'\(address)': \($0)" } ?? "\(error)") }
        self.init(parsed, options: options)
    }

    /// The addresses of a comma-separated list in the one address grammar
    /// (`SocketAddress.list(parsing:)`), e.g. `credit score --connect unix:/a.sock,tcp:h:7700`.
    public static func addresses(_ list: String) throws(DaemonError) -> [SocketAddress] {
        do { return try SocketAddress.list(parsing: list) } catch {
            throw .badAddress(error.detail.map { "'\(list)': \($0)" } ?? "\(error)")
        }
    }

    /// Closes every connection; later calls throw `.closed`.
    public func close() {
        let all: [DaemonConnection?] = lock.withLock {
            closed = true
            defer { slots = slots.map { _ in nil } }
            return slots
        }
        for c in all { c?.close() }
    }

    // MARK: Methods

    /// Scores a columnar batch (one result entry per applicant, request order). With
    /// `reasons: .none` the answer has probabilities and decisions only (cheaper).
    public func score(_ batch: ColumnBatch, reasons: ReasonDetail = .full, timeout: Duration? = nil) async throws(DaemonError) -> ScoreResult {
        try await scoreResult(call(.score(.columns(batch)), reasons: reasons, timeout: timeout))
    }

    /// Scores one applicant given as field/value pairs.
    public func score(_ row: ApplicantRow, reasons: ReasonDetail = .full, timeout: Duration? = nil) async throws(DaemonError) -> ScoreResult {
        try await scoreResult(call(.score(.row(row)), reasons: reasons, timeout: timeout))
    }

    public func modelInfo(timeout: Duration? = nil) async throws(DaemonError) -> ModelDescription {
        guard let m = try await call(.modelInfo, timeout: timeout).modelInfo else { throw .protocolError("ModelInfo answer without a result") }
        return m
    }

    public func health(timeout: Duration? = nil) async throws(DaemonError) -> Health {
        guard let h = try await call(.health, timeout: timeout).health else { throw .protocolError("Health answer without a result") }
        return h
    }

    public func stats(timeout: Duration? = nil) async throws(DaemonError) -> StatsSnapshot {
        guard let s = try await call(.stats, timeout: timeout).stats else { throw .protocolError("Stats answer without a result") }
        return s
    }

    /// Asks the daemon to load the artifact at `path` (Unix socket only). Returns the new model id.
    public func reload(path: String, timeout: Duration? = nil) async throws(DaemonError) -> String {
        guard case .reload(let id, _) = try await call(.reload(path: path), timeout: timeout).result else {
            throw .protocolError("Reload answer without a result")
        }
        return id
    }

    private func scoreResult(_ r: Response) throws(DaemonError) -> ScoreResult {
        guard let s = r.score else { throw .protocolError("Score answer without a result") }
        return s
    }

    /// Sends any method; returns the response when its status is OK, else throws `.status`.
    /// Retries lost connections and UNAVAILABLE (see the type's notes).
    public func call(_ method: Request.Method, reasons: ReasonDetail = .full, timeout: Duration? = nil) async throws(DaemonError) -> Response {
        let deadline = (timeout ?? options.defaultTimeout).map { ContinuousClock.now + $0 }
        var attempt = 0
        while true {
            let conn = try await connection(until: deadline)
            do throws(DaemonError) {
                let r = try await conn.send(method, reasons: reasons, deadline: deadline)
                if r.status.code == .ok { return r }
                let err = DaemonError.status(r.status.code, r.status.message)
                guard r.status.code == .unavailable, attempt < options.retries else { throw err }
            } catch {
                switch error {
                case .connectionLost, .status(.unavailable, _):
                    guard attempt < options.retries else { throw error }
                default:
                    throw error
                }
            }
            attempt += 1
            try? await Task.sleep(for: .milliseconds(min(200, 10 << attempt)))
        }
    }

    private func pick() -> (Bool, Int, DaemonConnection?) {
        lock.withLock {
            let i = next % slots.count
            next &+= 1
            return (closed, i, slots[i])
        }
    }

    /// A live connection from the pool (round-robin), reconnecting a dead slot.
    private func connection(until deadline: ContinuousClock.Instant?) async throws(DaemonError) -> DaemonConnection {
        let (isClosed, i, current) = pick()
        if isClosed { throw .closed }
        if let current, current.isAlive { return current }
        // One task reconnects a slot at a time; others wait for it (connect is quick or refused).
        let start = ContinuousClock.now
        var delay = Duration.milliseconds(5)
        while true {
            let result: Result<DaemonConnection, DaemonError> = connectLocks[i].withLock {
                if let c = lock.withLock({ slots[i] }), c.isAlive { return .success(c) }
                do throws(DaemonError) {
                    let c = try DaemonConnection(address, maxFrameBytes: options.maxFrameBytes)
                    let old: DaemonConnection? = lock.withLock {
                        connectsMade += 1
                        defer { slots[i] = c }
                        return slots[i]
                    }
                    old?.close()
                    return .success(c)
                } catch {
                    return .failure(error)
                }
            }
            switch result {
            case .success(let c):
                if lock.withLock({ closed }) { c.close(); throw .closed }
                return c
            case .failure(let e):
                let now = ContinuousClock.now
                if now - start >= options.reconnectWindow { throw e }
                if let deadline, now >= deadline { throw .deadlineExceeded }
                try? await Task.sleep(for: delay)
                if Task.isCancelled { throw .cancelled }
                delay = min(delay * 2, .milliseconds(200))
            }
        }
    }
}
